"""The index benchmark's measures hold without timing anything (timings are the bench's to print).

A history page and a submit cost the same DynamoDB requests and items at any history length, and
the SQLite rounds fill a whole page at every size (so the bench's ratio compares equal work)."""

from __future__ import annotations

from pathlib import Path

from bench import index as bench_index


def test_dynamodb_page_and_submit_cost_does_not_grow_with_the_history() -> None:
    page = 5
    short, long = bench_index.dynamodb_case(3 * page, page), bench_index.dynamodb_case(60 * page, page)
    assert short == long
    for what in ("page", "last page"):
        requests, items_read, items_written = long[what]
        # One Query reading the page plus the items that tell where the next page starts.
        assert requests == 1 and page <= items_read <= page + 2 and items_written == 0
    # One TransactWriteItems: the user's counter, the record, the month's spending (the budget) and
    # everyone's queued images, nothing read.
    assert long["submit"] == (1, 0, 4)


def test_sqlite_rounds_read_full_pages_and_keep_each_history_at_its_size(tmp_path: Path) -> None:
    cases = bench_index.sqlite_cases([4, 40], page=4, repeat=3, root=tmp_path)  # one_round raises on a short page
    for case in cases:
        assert all(len(times) == 3 for times in case.times.values())
        records, _ = case.service.list_executions(bench_index.USER, limit=100)
        assert len(records) == case.count  # every submit was removed again
