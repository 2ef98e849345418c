"""Compaction: a day's rows in one file, the same answers, a rewritten row replacing its old one."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aiorch.analytics.compaction import RECORD_ID, compact, compact_closed_days, day_prefix
from aiorch.analytics.local import LocalRunner, compact_local
from aiorch.analytics.records import AnalyticsRow, write_row
from aiorch.analytics.schema import load_schema
from aiorch.ids import new_id
from aiorch.storage import LocalStorage

SCHEMA = load_schema()
TODAY = date(2026, 12, 7)


def row(execution_id: str, day: date, status: str = "SUCCEEDED", **extra) -> AnalyticsRow:
    when = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return AnalyticsRow(execution_id=execution_id, operation="upscale", status=status, started_at=when, **extra)


def files(storage: LocalStorage) -> list[str]:
    return sorted(k for k in storage.list(SCHEMA.location_prefix) if k.endswith(".parquet"))


def everything(root) -> list[dict]:
    runner = LocalRunner(root)
    try:
        return runner.run("SELECT execution_id, status, total_ms FROM results ORDER BY execution_id").rows
    finally:
        runner.close()


@pytest.fixture
def storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path)


def test_each_day_becomes_one_file_with_the_same_rows(storage: LocalStorage) -> None:
    for i in range(5):
        write_row(storage, row(f"E{i}", TODAY - timedelta(days=i % 2), total_ms=i))
    write_row(storage, row("B1", TODAY), name="B1-000")  # a batch image's row
    write_row(storage, row("B1", TODAY), name="B1-001")
    before = everything(storage.root)

    done = compact(storage)

    assert (done.folders, done.files_in, done.rows_out) == (2, 7, 7)
    assert [k.rsplit("/", 1)[1].startswith("compacted-") for k in files(storage)] == [True, True]
    assert everything(storage.root) == before
    assert compact(storage).folders == 0  # nothing left to do


def test_a_row_written_again_after_compaction_replaces_the_compacted_one(storage: LocalStorage) -> None:
    write_row(storage, row("E1", TODAY, status="FAILED"))
    write_row(storage, row("E2", TODAY))
    compact(storage)
    write_row(storage, row("E1", TODAY, status="SUCCEEDED", total_ms=7))  # the recorder ran again

    compact(storage)

    assert everything(storage.root) == [
        {"execution_id": "E1", "status": "SUCCEEDED", "total_ms": 7},
        {"execution_id": "E2", "status": "SUCCEEDED", "total_ms": None},
    ]
    assert len(files(storage)) == 1


def test_a_pass_cut_off_before_its_deletes_converges_to_one_file_without_duplicates(storage: LocalStorage) -> None:
    """A crash after the new file was written but before the folded files were deleted."""
    write_row(storage, row("E1", TODAY, status="FAILED"))
    compact(storage)
    (older,) = files(storage)
    write_row(storage, row("E1", TODAY, status="SUCCEEDED"))
    write_row(storage, row("E2", TODAY))
    folder = day_prefix(SCHEMA, TODAY)
    leftovers = files(storage)
    # What the cut-off pass had written: a newer compacted file holding the merged rows.
    compacted_schema = pq.read_schema(io.BytesIO(storage.get_bytes(older)))
    rows = [{**dict.fromkeys(compacted_schema.names), "execution_id": e, "operation": "upscale",
             "status": "SUCCEEDED", "schema_version": 2, RECORD_ID: e} for e in ("E1", "E2")]  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=compacted_schema), buffer)
    storage.put_bytes(f"{folder}compacted-{new_id()}.parquet", buffer.getvalue())
    assert len(files(storage)) == len(leftovers) + 1

    compact(storage)

    assert [(r["execution_id"], r["status"]) for r in everything(storage.root)] == [
        ("E1", "SUCCEEDED"),
        ("E2", "SUCCEEDED"),
    ]
    assert len(files(storage)) == 1


def test_rows_of_an_older_schema_are_kept_with_nulls_for_the_new_columns(storage: LocalStorage) -> None:
    folder = day_prefix(SCHEMA, TODAY)
    old = pa.table({"schema_version": pa.array([1], pa.int32()), "execution_id": ["OLD"], "operation": ["denoise"],
                    "status": ["FAILED"]})  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(old, buffer)
    storage.put_bytes(f"{folder}OLD.parquet", buffer.getvalue())
    write_row(storage, row("NEW", TODAY))

    compact(storage)

    assert everything(storage.root) == [
        {"execution_id": "NEW", "status": "SUCCEEDED", "total_ms": None},
        {"execution_id": "OLD", "status": "FAILED", "total_ms": None},
    ]


def test_the_scheduled_pass_leaves_today_and_compacts_the_closed_days_it_looks_back_over(
    storage: LocalStorage,
) -> None:
    for days_back in (0, 1, 2, 15, 16):
        write_row(storage, row(f"E{days_back}", TODAY - timedelta(days=days_back)))
        write_row(storage, row(f"F{days_back}", TODAY - timedelta(days=days_back)))

    done = compact_closed_days(storage, TODAY)

    assert done.folders == 3  # 1, 2 and 15 days back; today still takes writes; 16 is past the lookback
    by_folder: dict[str, list[str]] = {}
    for key in files(storage):
        folder, name = key.rsplit("/", 1)
        by_folder.setdefault(folder, []).append(name)
    counts = {folder: len(names) for folder, names in by_folder.items()}
    assert counts[day_prefix(SCHEMA, TODAY).rstrip("/")] == 2
    assert counts[day_prefix(SCHEMA, TODAY - timedelta(days=16)).rstrip("/")] == 2
    for days_back in (1, 2, 15):
        assert by_folder[day_prefix(SCHEMA, TODAY - timedelta(days=days_back)).rstrip("/")][0].startswith("compacted-")


def test_a_local_answer_compacts_first_and_counts_each_row_once(storage: LocalStorage) -> None:
    for i in range(20):
        write_row(storage, row(f"E{i:02d}", TODAY - timedelta(days=i % 4)))
    compact_local(storage.root)
    write_row(storage, row("E00", TODAY, status="FAILED"))

    compact_local(storage.root)

    answers = everything(storage.root)
    assert len(answers) == 20
    assert answers[0] == {"execution_id": "E00", "status": "FAILED", "total_ms": None}
    assert len(files(storage)) == 4


def test_a_shared_runner_is_reused_while_nothing_is_written_and_sees_every_new_row(storage: LocalStorage) -> None:
    from aiorch.analytics.local import shared_runner

    write_row(storage, row("E1", TODAY))
    first = shared_runner(storage.root)
    assert shared_runner(storage.root) is first
    write_row(storage, row("E2", TODAY))
    second = shared_runner(storage.root)
    assert second is not first
    assert [r["execution_id"] for r in second.run("SELECT execution_id FROM results ORDER BY 1").rows] == ["E1", "E2"]
