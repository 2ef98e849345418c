"""The web API answers named queries in two steps (start, then poll), so no request
waits for Athena longer than API Gateway's 29 s. moto executes no SQL: the Athena side is checked for
its request flow (start in the workgroup; poll answers, says "running", or raises Athena's reason)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from aiorch.analytics.aws import AthenaQueryFailed, AthenaRunner
from aiorch.analytics.errors import UnknownQueryRun
from aiorch.analytics.queries import UnknownQuery, get_query
from aiorch.analytics.service import AnswerOnPoll, named_query_answer, open_two_step_runner, start_named_query
from aiorch.settings import Settings

REGION = "eu-west-1"
NAME = "failure_rate_per_operation"


@pytest.fixture
def athena_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return Settings(athena_workgroup="analysts", athena_database="aiorch_db", aws_region=REGION)


class AthenaStates:
    """Stands in for Athena where moto cannot: a query that runs, then ends as told."""

    def __init__(self, sql: str, states: list[str], reason: str = "") -> None:
        self.sql, self.states, self.reason = sql, states, reason

    def get_query_execution(self, QueryExecutionId: str) -> dict:
        state = self.states.pop(0)
        status = {"State": state, "StateChangeReason": self.reason}
        return {"QueryExecution": {"Query": self.sql, "WorkGroup": "analysts", "Status": status}}


@mock_aws
def test_athena_starts_in_the_workgroup_and_a_poll_reads_the_answer(athena_settings: Settings) -> None:
    client = boto3.client("athena", region_name=REGION)
    client.create_work_group(Name="analysts", Configuration={})
    columns = [{"Name": "operation", "Type": "varchar"}, {"Name": "executions", "Type": "bigint"}]
    rows = [{"Data": [{"VarCharValue": "operation"}, {"VarCharValue": "executions"}]}]
    rows.append({"Data": [{"VarCharValue": "upscale"}, {"VarCharValue": "4"}]})
    athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(QueryResults(rows=rows, column_info=columns))
    runner = AthenaRunner(athena_settings, client=client)
    sql = get_query(NAME).sql

    query_id = runner.start(sql)
    assert client.list_query_executions(WorkGroup="analysts")["QueryExecutionIds"] == [query_id]
    answer = runner.poll(query_id, sql)

    assert answer is not None
    expected_rows = [{"operation": "upscale", "executions": 4}]
    assert answer.to_dict() == {"columns": ["operation", "executions"], "rows": expected_rows}


@mock_aws
def test_an_id_of_another_query_cannot_read_its_results(athena_settings: Settings) -> None:
    client = boto3.client("athena", region_name=REGION)
    client.create_work_group(Name="analysts", Configuration={})
    runner = AthenaRunner(athena_settings, client=client)
    other = runner.start("SELECT secret FROM elsewhere")
    with pytest.raises(UnknownQueryRun, match="not a run of this named query"):
        runner.poll(other, get_query(NAME).sql)


def test_a_running_query_is_none_and_a_failed_one_raises_athena_s_reason(athena_settings: Settings) -> None:
    sql = get_query(NAME).sql
    fake = AthenaStates(sql, ["RUNNING", "FAILED"], "COLUMN_NOT_FOUND: Column 'nope' cannot be resolved")
    runner = AthenaRunner(athena_settings, client=fake)
    assert runner.poll("q-1", sql) is None  # one look, no waiting
    with pytest.raises(AthenaQueryFailed, match="Column 'nope' cannot be resolved"):
        runner.poll("q-1", sql)


def test_local_duckdb_answers_on_the_first_poll(settings: Settings) -> None:
    runner = open_two_step_runner(settings)
    assert isinstance(runner, AnswerOnPoll)
    query_id = start_named_query(NAME, settings)
    answer = named_query_answer(NAME, query_id, settings)
    assert answer is not None and "failure_rate" in answer["columns"]
    with pytest.raises(UnknownQueryRun):
        named_query_answer(NAME, "q-from-elsewhere", settings)
    with pytest.raises(UnknownQuery):
        start_named_query("nope", settings)
