"""`aiorch analytics list | run NAME | query SQL` with --format table|csv|json, over local records."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, time, timedelta

import pytest
from click.testing import CliRunner

from aiorch.analytics.records import AnalyticsRow, write_row
from aiorch.settings import get_settings
from aiorch.storage import LocalStorage
from aiorch_local.analytics_cli import analytics

# Yesterday: inside the named queries' 30-day window whenever the suite runs.
DAY = (datetime.now(UTC) - timedelta(days=1)).date()


@pytest.fixture
def storage_dir(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path / "storage")
    for i, (operation, status, ms) in enumerate(
        [("upscale", "SUCCEEDED", 1000), ("upscale", "FAILED", 300), ("denoise", "SUCCEEDED", 500)]
    ):
        row = AnalyticsRow(
            execution_id=f"E{i}",
            operation=operation,
            status=status,
            total_ms=ms,
            started_at=datetime.combine(DAY, time(12, i), tzinfo=UTC),
        )
        write_row(storage, row)
    monkeypatch.setenv("AIORCH_STORAGE_URL", str(storage.root))
    get_settings.cache_clear()
    yield storage.root
    get_settings.cache_clear()


def invoke(*args: str):
    return CliRunner().invoke(analytics, list(args), catch_exceptions=False)


def test_query_json_prints_a_json_list_of_row_objects(storage_dir):
    sql = "SELECT operation, count(*) AS n, sum(total_ms) / count(*) AS mean_ms FROM results GROUP BY 1 ORDER BY 1"
    result = invoke("query", sql, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"operation": "denoise", "n": 1, "mean_ms": 500},
        {"operation": "upscale", "n": 2, "mean_ms": 650},
    ]


def test_query_csv_has_a_header_row(storage_dir):
    result = invoke("query", "SELECT operation, started_at FROM results ORDER BY started_at", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["operation", "started_at"]
    assert rows[1:] == [
        ["upscale", f"{DAY} 12:00:00.000"],
        ["upscale", f"{DAY} 12:01:00.000"],
        ["denoise", f"{DAY} 12:02:00.000"],
    ]


def test_query_table_is_the_default(storage_dir):
    result = invoke("query", "SELECT status, count(*) FROM results GROUP BY status ORDER BY status")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["status", "_col1"]
    assert lines[2].split() == ["FAILED", "1"] and lines[3].split() == ["SUCCEEDED", "2"]
    assert lines[-1] == "(2 rows)"


def test_run_answers_a_named_query(storage_dir):
    result = invoke("run", "failure_rate_per_operation", "--format", "json")
    assert result.exit_code == 0, result.output
    by_operation = {r["operation"]: r for r in json.loads(result.output)}
    assert by_operation["upscale"]["failure_rate"] == 0.5
    assert by_operation["denoise"]["failure_rate"] == 0.0


def test_list_names_every_query_with_its_description(storage_dir):
    result = invoke("list", "--format", "json")
    listed = {q["name"]: q["description"] for q in json.loads(result.output)}
    assert "throughput_per_model" in listed and all(listed.values())


def test_errors_are_plain_words_and_a_nonzero_exit(storage_dir):
    refused = invoke("query", "SELECT CAST(estimated_cost_usd AS varchar) FROM results")
    assert refused.exit_code == 1 and "scientific notation" in refused.output and "Traceback" not in refused.output
    unknown = invoke("run", "nope")
    assert unknown.exit_code == 1 and "no named query 'nope'" in unknown.output


def test_an_empty_store_answers_with_no_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("AIORCH_STORAGE_URL", str(tmp_path / "empty"))
    get_settings.cache_clear()
    try:
        result = invoke("query", "SELECT operation, count(*) AS n FROM results GROUP BY 1", "--format", "json")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0 and json.loads(result.output) == []
