"""The AWS path: Athena in the configured workgroup and database. moto executes no SQL,
so these tests check the request flow (start, poll, read pages, header row, types) only."""

from __future__ import annotations

import subprocess
import sys

import boto3
import pytest
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from aiorch.analytics.aws import AthenaQueryFailed, AthenaRunner, athena_value
from aiorch.analytics.queries import get_query
from aiorch.analytics.service import open_runner
from aiorch.settings import Settings

REGION = "eu-west-1"


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return Settings(athena_workgroup="analysts", athena_database="aiorch_db", aws_region=REGION)


def cell(text: str | None) -> dict:
    return {} if text is None else {"VarCharValue": text}


@mock_aws
def test_runs_in_the_workgroup_and_database_and_types_the_rows(settings):
    client = boto3.client("athena", region_name=REGION)
    client.create_work_group(Name="analysts", Configuration={})
    columns = [
        {"Name": "operation", "Type": "varchar"},
        {"Name": "executions", "Type": "bigint"},
        {"Name": "failure_rate", "Type": "double"},
        {"Name": "last_seen", "Type": "timestamp"},
        {"Name": "ok", "Type": "boolean"},
    ]
    header = {"Data": [cell(c["Name"]) for c in columns]}
    data = [
        {"Data": [cell("upscale"), cell("12"), cell("0.25"), cell("2026-03-07 23:59:59.124"), cell("true")]},
        {"Data": [cell("denoise"), cell("3"), cell("NaN"), cell(None), cell("false")]},
    ]
    athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(
        QueryResults(rows=[header, *data], column_info=columns)
    )
    runner = AthenaRunner(settings, client=client, poll_interval_s=0)
    sql = get_query("failure_rate_per_operation").sql

    result = runner.run(sql)

    assert result.to_dict() == {
        "columns": ["operation", "executions", "failure_rate", "last_seen", "ok"],
        "rows": [
            {"operation": "upscale", "executions": 12, "failure_rate": 0.25,
             "last_seen": "2026-03-07 23:59:59.124", "ok": True},
            {"operation": "denoise", "executions": 3, "failure_rate": "NaN", "last_seen": None, "ok": False},
        ],
    }  # fmt: skip
    (query_id,) = client.list_query_executions(WorkGroup="analysts")["QueryExecutionIds"]
    execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["Query"] == sql  # the Athena SQL itself, untranslated
    assert execution["WorkGroup"] == "analysts"
    assert execution["QueryExecutionContext"]["Database"] == "aiorch_db"


@mock_aws
def test_no_rows_is_an_empty_answer(settings):
    client = boto3.client("athena", region_name=REGION)
    client.create_work_group(Name="analysts", Configuration={})
    result = AthenaRunner(settings, client=client, poll_interval_s=0).run("SELECT 1")
    assert result.rows == []


class FailingAthena:
    """Stands in for Athena where moto cannot: a query that Athena reports as FAILED."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def start_query_execution(self, **kwargs):
        self.calls.append("start")
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, QueryExecutionId):
        self.calls.append("poll")
        state = "RUNNING" if self.calls.count("poll") < 3 else "FAILED"
        reason = "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved"
        return {"QueryExecution": {"Status": {"State": state, "StateChangeReason": reason}}}


def test_a_failed_query_raises_athena_s_reason_after_polling(settings):
    fake = FailingAthena()
    with pytest.raises(AthenaQueryFailed, match="Column 'nope' cannot be resolved"):
        AthenaRunner(settings, client=fake, poll_interval_s=0).run("SELECT nope FROM results")
    assert fake.calls == ["start", "poll", "poll", "poll"]


def test_values_are_typed_from_athena_s_column_types():
    assert athena_value("42", "integer") == 42
    assert athena_value("1.5", "decimal") == 1.5
    assert athena_value("Infinity", "double") == "Infinity"
    assert athena_value("true", "boolean") is True
    assert athena_value("2026-03-07", "date") == "2026-03-07"
    assert athena_value(None, "bigint") is None


def test_s3_storage_uses_athena_and_a_directory_uses_duckdb(tmp_path, settings):
    s3 = settings.model_copy(update={"storage_url": "s3://bucket/prefix"})
    assert type(open_runner(s3)).__name__ == "AthenaRunner"
    local = settings.model_copy(update={"storage_url": str(tmp_path)})
    assert type(open_runner(local)).__name__ == "LocalRunner"


def test_the_aws_path_imports_without_duckdb_or_sqlglot():
    # The API Lambda has neither (they are the local stack's); it must still answer through Athena.
    probe = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('duckdb', 'sqlglot'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from aiorch.analytics.service import run_named_query, open_runner\n"
        "from aiorch.analytics.aws import AthenaRunner\n"
        "from aiorch_local.analytics_cli import analytics\n"
        "from aiorch.analytics import write_row\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
