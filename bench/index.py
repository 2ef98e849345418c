"""The execution index at 10, 1,000 and 10,000 records of one user.

    python -m bench index [--sizes 10,1000,10000] [--page 10] [--repeat 200]

SQLite (the local index): the median latency of a history page (AnalysisService.list_executions),
of the last page a user can reach (the oldest, through the cursor), and of a submit
(AnalysisService.submit with a stub Step Functions client, so only the service and the index are
timed), and the ratio largest:smallest, goal under 2x.

Like for like: the page size defaults to 10, so even the smallest history fills a whole page (a
page of 20 at 10 records would return half the rows and make the small case look cheaper than a
page is). Each submitted record is removed again (untimed), so every history keeps its size. The
sizes are measured in turns, one call each per round, so a change of load on this shared machine
falls on every size alike rather than on whichever size ran at that moment.

DynamoDB on moto: the requests made and the items read (Query ScannedCount, GetItem hits) and
written (TransactWriteItems items) per page and per submit. moto's own latency grows with the
table, so its time is not the measure; what a page and a submit cost in DynamoDB is requests and
items, and those must stay constant.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USER = "bench-user"
GOAL_RATIO = 2.0


class StubStates:
    """Step Functions as far as submit needs it: accepts every start."""

    def start_execution(self, **kwargs: Any) -> dict[str, str]:
        return {"executionArn": f"arn:aws:states:us-east-1:123456789012:execution:bench:{kwargs['name']}"}


def _fill(index: Any, count: int) -> list[str]:
    """``count`` finished executions of one user, written in bulk (the fill is not what is measured).

    Returns their execution ids, oldest first."""
    from aiorch.contracts import ExecutionRecord, ExecutionStatus
    from aiorch.ids import new_id
    from aiorch.index.sqlite import SqliteIndex

    records = [
        ExecutionRecord(
            execution_id=new_id(),
            user=USER,
            operation="upscale",
            input_key=f"uploads/{USER}/u/original.png",
            status=ExecutionStatus.SUCCEEDED,
        )
        for _ in range(count)
    ]
    if isinstance(index, SqliteIndex):
        with index._write() as db:
            for record in records:
                SqliteIndex._insert(db, record)
    else:
        from aiorch.index.dynamodb import _record_item

        for start in range(0, len(records), 25):
            batch = [{"PutRequest": {"Item": _record_item(r)}} for r in records[start : start + 25]]
            index.client.batch_write_item(RequestItems={index.table: batch})
    return sorted(r.execution_id for r in records)


def _last_page_cursor(ids: list[str], page: int) -> str | None:
    """The cursor that asks for the oldest full page (None when the first page is also the last)."""
    return ids[page] if len(ids) > page else None


def _service(settings: Any) -> Any:
    from aiorch.analysis import AnalysisService
    from tests.conftest import encode, photo

    service = AnalysisService(settings, states_client=StubStates())
    return service, service.store_upload(USER, encode(photo(16))).key


def _end(service: Any, record: Any) -> None:
    from aiorch.contracts import ExecutionStatus, Outcome

    # Ended at once (untimed), so the running limit never refuses the next timed submit.
    service.index.finalise(USER, record.execution_id, Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="bench"))


def _forget(service: Any, record: Any) -> None:
    """End the submitted record and remove it (untimed): the history keeps the size it is measured at."""
    _end(service, record)
    with service.index._write() as db:
        db.execute("DELETE FROM executions WHERE user = ? AND execution_id = ?", (USER, record.execution_id))


@dataclass
class SqliteCase:
    count: int
    service: Any
    upload_key: str
    last_cursor: str | None
    times: dict[str, list[float]] = field(default_factory=lambda: {"page": [], "last page": [], "submit": []})

    def one_round(self, page: int, times: dict[str, list[float]]) -> None:
        """Time one first page, one last page and one submit into ``times``."""
        pages = [
            _timed(lambda: self.service.list_executions(USER, limit=page), times["page"]),
            _timed(lambda: self.service.list_executions(USER, limit=page, cursor=self.last_cursor), times["last page"]),
        ]
        if any(len(items) != min(page, self.count) for items, _ in pages):
            raise AssertionError(f"a page at {self.count} records did not hold {min(page, self.count)}")
        record = _timed(lambda: self.service.submit(USER, "upscale", self.upload_key), times["submit"])
        _forget(self.service, record)

    def median_ms(self, what: str) -> float:
        return statistics.median(self.times[what]) * 1000


def _timed(call: Callable[[], Any], into: list[float]) -> Any:
    started = time.perf_counter()
    result = call()
    into.append(time.perf_counter() - started)
    return result


def sqlite_cases(sizes: list[int], page: int, repeat: int, root: Path) -> list[SqliteCase]:
    """Fill one index per size under ``root`` and time ``repeat`` rounds over them."""
    from aiorch.index import open_index
    from aiorch.settings import Settings

    cases = []
    for count in sizes:
        settings = Settings(data_dir=root / f"records-{count}")
        ids = _fill(open_index(settings), count)
        service, key = _service(settings)
        cases.append(SqliteCase(count, service, key, _last_page_cursor(ids, page)))
    for round_ in range(repeat + 1):  # round 0 warms connections and caches and is not kept
        for case in cases:
            case.one_round(page, case.times if round_ else {k: [] for k in case.times})
    return cases


class RequestCounter:
    """Counts DynamoDB requests and the items they read and write, from botocore's events (the
    parameters as the caller gave them, and the parsed answers)."""

    def __init__(self, client: Any) -> None:
        self.requests = 0
        self.items_read = 0
        self.items_written = 0
        client.meta.events.register("before-parameter-build.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            self.items_written += len(params.get("TransactItems", []))
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.items_written += 1

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests += 1
        if "ScannedCount" in parsed:
            self.items_read += int(parsed["ScannedCount"])
        elif model.name == "GetItem" and parsed.get("Item"):
            self.items_read += 1

    def measure(self, call: Callable[[], Any]) -> tuple[int, int, int]:
        before = (self.requests, self.items_read, self.items_written)
        call()
        return self.requests - before[0], self.items_read - before[1], self.items_written - before[2]


def dynamodb_case(count: int, page: int) -> dict[str, tuple[int, int, int]]:
    import boto3
    from moto import mock_aws

    from aiorch.index import open_index
    from aiorch.index.dynamodb import table_definition
    from aiorch.settings import Settings

    with mock_aws(), tempfile.TemporaryDirectory() as tmp:
        table = f"bench-{count}"
        boto3.client("dynamodb", region_name="us-east-1").create_table(**table_definition(table))
        settings = Settings(data_dir=Path(tmp), index_url=f"dynamodb://{table}", aws_region="us-east-1")
        index = open_index(settings)
        last_cursor = _last_page_cursor(_fill(index, count), page)
        service, key = _service(settings)
        counter = RequestCounter(index.client)  # type: ignore[attr-defined]
        return {
            "page": counter.measure(lambda: service.list_executions(USER, limit=page)),
            "last page": counter.measure(lambda: service.list_executions(USER, limit=page, cursor=last_cursor)),
            "submit": counter.measure(lambda: service.submit(USER, "upscale", key)),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench index", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,1000,10000", help="history lengths, comma-separated")
    parser.add_argument("--page", type=int, default=10, help="records per history page (10: a full page at 10)")
    parser.add_argument("--repeat", type=int, default=200, help="timed rounds (each times every size once)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if args.page < 1 or args.repeat < 1 or sizes[0] < 1:
        parser.error("--page, --repeat and every size must be at least 1")
    if sizes[0] < args.page:
        print(
            f"note: {sizes[0]} records fill only {sizes[0]} of a {args.page}-record page, so the ratios "
            "below also count the rows returned (not like for like)"
        )

    what = ("page", "last page", "submit")
    print(f"SQLite index: median of {args.repeat} rounds, ms; page = {args.page} records, a full page at every size")
    print(f"{'records':>8} " + " ".join(f"{w + ' ms':>13}" for w in what))
    with tempfile.TemporaryDirectory() as tmp:
        cases = sqlite_cases(sizes, args.page, args.repeat, Path(tmp))
    for case in cases:
        print(f"{case.count:>8} " + " ".join(f"{case.median_ms(w):>13.3f}" for w in what))
    small, large = cases[0], cases[-1]
    ratios = {w: large.median_ms(w) / small.median_ms(w) for w in what}
    print(
        f"ratio {large.count}:{small.count}  "
        + "  ".join(f"{w} {r:.2f}x" for w, r in ratios.items())
        + f"  (goal under {GOAL_RATIO:.0f}x: {'met' if max(ratios.values()) < GOAL_RATIO else 'NOT met'})"
    )

    print("\nDynamoDB index on moto, per call: requests / items read (ScannedCount, GetItem) / items written")
    print("(moto's own time grows with the table, so its time is not the measure)")
    print(f"{'records':>8} " + " ".join(f"{w:>13}" for w in what))
    counts = {n: dynamodb_case(n, args.page) for n in sizes}
    for n, per_call in counts.items():
        print(f"{n:>8} " + " ".join(f"{' / '.join(map(str, per_call[w])):>13}" for w in what))
    longer = [per_call for n, per_call in counts.items() if n > args.page]  # histories longer than a page
    constant = all(per_call == longer[0] for per_call in longer)
    print(f"constant for every history longer than a page: {'yes' if constant else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
