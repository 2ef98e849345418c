"""The results table's rows: one Parquet file per execution, exactly schema.json's types."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aiorch.analytics.records import AnalyticsRow, estimate_cost_usd, user_hash, write_row
from aiorch.analytics.schema import SCHEMA_PATH, load_schema
from aiorch.settings import Settings
from aiorch.storage import LocalStorage

# What each schema.json type must be in the Parquet file, written out here independently.
EXPECTED_ARROW = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def full_row() -> AnalyticsRow:
    return AnalyticsRow(
        execution_id="01JDQ7ZZZZZZZZZZZZZZZZZZZZ",
        user_hash=user_hash("alice"),
        operation="upscale",
        model="RRDBNet_x4plus",
        weights_id="x4plus@abc123",
        device="cuda:0",
        precision="fp16",
        input_width=640,
        input_height=480,
        input_bytes=123_456,
        output_width=2560,
        output_height=1920,
        output_bytes=9_876_543_210,
        tiles=4,
        validate_ms=12,
        queue_wait_ms=3_000,
        job_ms=4_500,
        stage_ms_json=json.dumps({"load": 100, "infer": 4_000}),
        total_ms=8_000,
        status="SUCCEEDED",
        estimated_cost_usd=0.00125,
        started_at=datetime(2026, 3, 7, 23, 59, 59, 123456, tzinfo=UTC),
        finished_at=datetime(2026, 3, 8, 0, 0, 7, tzinfo=UTC),
    )


def test_schema_json_has_the_columns_the_issue_lists_and_version_1():
    raw = json.loads(SCHEMA_PATH.read_text())
    assert raw["version"] == 3 and raw["table"] == "results"
    assert [p["name"] for p in raw["partition_keys"]] == ["year", "month", "day"]
    assert raw["location_prefix"] == "analytics/results/"
    names = [c["name"] for c in raw["columns"]]
    for needed in ["execution_id", "user_hash", "operation", "model", "weights_id", "device", "precision",
                   "input_width", "input_height", "input_bytes", "output_width", "output_height",
                   "output_bytes", "tiles", "queue_wait_ms", "stage_ms_json", "status", "error_type",
                   "estimated_cost_usd", "cost_usd", "started_at", "finished_at"]:  # fmt: skip
        assert needed in names
    assert all(c["description"] for c in raw["columns"])


def test_row_model_fields_are_the_schema_columns_in_order():
    assert list(AnalyticsRow.model_fields) == load_schema().column_names


def test_parquet_file_schema_matches_schema_json(tmp_path):
    storage = LocalStorage(tmp_path)
    key = write_row(storage, full_row())
    written = pq.read_schema(storage.path(key))
    raw = json.loads(SCHEMA_PATH.read_text())
    assert written.names == [c["name"] for c in raw["columns"]]
    for column in raw["columns"]:
        assert written.field(column["name"]).type == EXPECTED_ARROW[column["type"]], column["name"]


def test_row_lands_in_the_hive_partition_of_its_start_day_and_round_trips(tmp_path):
    storage = LocalStorage(tmp_path)
    row = full_row()
    key = write_row(storage, row)
    assert key == "analytics/results/year=2026/month=03/day=07/01JDQ7ZZZZZZZZZZZZZZZZZZZZ.parquet"
    back = pq.read_table(storage.path(key)).to_pylist()
    assert back == [row.model_dump()]  # microseconds and UTC survive


def test_failed_row_needs_only_id_operation_status_and_a_time(tmp_path):
    storage = LocalStorage(tmp_path)
    row = AnalyticsRow(
        execution_id="E1",
        operation="inpaint",
        status="FAILED",
        error_type="OutOfMemory",
        finished_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    key = write_row(storage, row)
    assert key.startswith("analytics/results/year=2026/month=01/day=02/")
    assert pq.read_table(storage.path(key)).to_pylist()[0]["model"] is None


def test_rewriting_an_execution_replaces_its_row(tmp_path):
    storage = LocalStorage(tmp_path)
    row = full_row()
    write_row(storage, row)
    write_row(storage, row.model_copy(update={"status": "FAILED"}))
    files = list(storage.list("analytics/results/"))
    assert len(files) == 1
    assert pq.read_table(storage.path(files[0])).column("status").to_pylist() == ["FAILED"]


def test_timestamps_are_stored_in_utc_and_naive_ones_are_refused():
    paris = timezone(timedelta(hours=1))
    row = AnalyticsRow(execution_id="E", operation="denoise", status="SUCCEEDED",
                       started_at=datetime(2026, 1, 1, 0, 30, tzinfo=paris))  # fmt: skip
    assert row.started_at == datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert row.started_at.tzinfo is UTC
    with pytest.raises(ValueError, match="time zone"):
        AnalyticsRow(execution_id="E", operation="denoise", status="SUCCEEDED", started_at=datetime(2026, 1, 1))


def test_a_row_without_any_time_has_no_partition(tmp_path):
    row = AnalyticsRow(execution_id="E", operation="denoise", status="INTERRUPTED")
    with pytest.raises(ValueError, match="started_at or finished_at"):
        write_row(LocalStorage(tmp_path), row)


def test_user_hash_is_sha256_hex_of_the_user_id():
    # sha256("abc") is the FIPS 180-2 test vector.
    assert user_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_cost_is_job_hours_times_the_configured_price_of_the_device_class():
    settings = Settings(gpu_price_per_hour_usd=2.0, cpu_price_per_hour_usd=0.2)
    assert estimate_cost_usd("cuda:0", 1800, settings) == pytest.approx(1.0)
    assert estimate_cost_usd("cpu", 36, settings) == pytest.approx(0.002)
    assert estimate_cost_usd(None, 3600, settings) == pytest.approx(2.0)  # unknown: the GPU queue's price
    assert estimate_cost_usd("cuda", 0, settings) == 0.0
    with pytest.raises(ValueError, match="negative"):
        estimate_cost_usd("cuda", -1, settings)
