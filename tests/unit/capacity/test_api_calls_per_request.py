"""The AWS calls each request costs, counted while the real API app and Lambdas run on moto.

These counts are what docs/capacity.md and the simulation build on: a change that adds a Step
Functions read to a poll, or a second StartExecution to a submit, fails here by name."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.capacity.aws_calls import (
    API_REQUESTS,
    JOB_STATE_CHANGE,
    LIST_HISTORY,
    POLL_FINISHED,
    POLL_RUNNING,
    POLL_UNCHANGED,
    RECORD_RESULT,
    SUBMIT,
    UPLOAD_LINK,
    VALIDATE_INPUT,
    MeasuredRun,
    job_states_sent_to_status_change,
    measure_upscale_run,
    success_path,
)

POLLS = (POLL_RUNNING, POLL_UNCHANGED, POLL_FINISHED)


def test_print_the_calls_of_each_request(measured_run: MeasuredRun) -> None:
    for kind, calls in measured_run.calls.items():
        apis = ", ".join(f"{svc}:{op} {n}" for (svc, op), n in sorted(calls.by_api.items())) or "none"
        writes = ", ".join(f"{pk} {n}" for pk, n in sorted(calls.writes_by_partition.items()))
        print(f"{kind}: {apis}" + (f"; DynamoDB write units by partition: {writes}" if writes else ""))
    print(f"state machine path: {measured_run.path}; job states to status-change: {measured_run.job_states}")
    assert set(API_REQUESTS) <= set(measured_run.calls)


def test_every_request_answered_as_the_web_app_expects(measured_run: MeasuredRun) -> None:
    assert measured_run.statuses == {
        UPLOAD_LINK: 201,
        SUBMIT: 202,
        POLL_RUNNING: 200,
        POLL_UNCHANGED: 304,
        POLL_FINISHED: 200,
        LIST_HISTORY: 200,
    }


@pytest.mark.parametrize("kind", [*POLLS, LIST_HISTORY, UPLOAD_LINK])
def test_reads_and_links_call_no_step_functions_api(measured_run: MeasuredRun, kind: str) -> None:
    calls = measured_run.calls[kind]
    assert calls.count("stepfunctions") == 0, calls.by_api
    assert not calls.writes_by_partition, calls.writes_by_partition  # a poll writes nothing


def test_a_poll_reads_one_index_item_and_a_few_objects(measured_run: MeasuredRun) -> None:
    """The record (GetItem) and the running job's progress.json (plus the upload's name): a 304 costs
    the same reads as a 200, since its tag is computed from the same view."""
    for kind in POLLS:
        calls = measured_run.calls[kind]
        assert calls.by_api[("dynamodb", "GetItem")] == 1, (kind, calls.by_api)
        assert calls.count("s3") <= 3, (kind, calls.by_api)
        assert set(calls.by_api) <= {("dynamodb", "GetItem"), ("s3", "GetObject"), ("s3", "HeadObject")}


def test_a_submit_starts_one_execution_in_one_index_transaction(measured_run: MeasuredRun) -> None:
    calls = measured_run.calls[SUBMIT]
    assert calls.by_api[("stepfunctions", "StartExecution")] == 1
    assert calls.count("stepfunctions") == 1
    assert calls.by_api[("dynamodb", "TransactWriteItems")] == 1
    # The user's counter and record, and everyone's queued-images item: a partition all users share.
    assert calls.writes_by_partition["QUEUE"] == 2


@pytest.mark.parametrize("kind", [VALIDATE_INPUT, JOB_STATE_CHANGE, RECORD_RESULT])
def test_the_runs_lambdas_call_no_step_functions_api(measured_run: MeasuredRun, kind: str) -> None:
    assert measured_run.calls[kind].count("stepfunctions") == 0, measured_run.calls[kind].by_api


def test_an_upscale_run_is_one_batch_job_and_two_lambda_tasks_in_the_asl(measured_run: MeasuredRun) -> None:
    path = measured_run.path
    assert path.batch_jobs == 1
    assert path.lambda_tasks == ["ValidateInput", "RecordResult"]
    assert path.states_entered[0] == "ValidateInput" and path.states_entered[-1] == "Succeeded"
    assert measured_run.job_states == ["RUNNABLE", "STARTING", "RUNNING"]


def test_inpaint_runs_two_batch_jobs_and_detect_text_one() -> None:
    """The walk follows the Choice states: the count is the ASL's, not a constant."""
    assert success_path({"operation": "inpaint"}).batch_jobs == 2
    assert success_path({"operation": "detect_text"}).batch_jobs == 1
    with pytest.raises(ValueError, match="Map"):
        success_path({"operation": "upscale", "batch": True})


def test_the_job_state_rule_is_read_from_its_terraform() -> None:
    text = """
resource "aws_cloudwatch_event_rule" "status_change" {
  event_pattern = jsonencode({ detail = { status = ["ABORTED"] } })
}

resource "aws_cloudwatch_event_rule" "job_state_change" {
  event_pattern = jsonencode({
    detail = {
      status   = ["RUNNING"]
    }
  })
}
"""
    assert job_states_sent_to_status_change(text) == ["RUNNING"]
    with pytest.raises(ValueError, match="no job_state_change rule"):
        job_states_sent_to_status_change('resource "aws_cloudwatch_event_rule" "other" {\n}')


class DescribingService:
    """A service that reads Step Functions on every poll, as polls did before they read the index."""

    def __init__(self, service: Any) -> None:
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def get_status(self, user: str, execution_id: str) -> Any:
        record = self._service.index.get(user, execution_id)
        self._service.states.describe_execution(executionArn=record.execution_arn)
        return self._service.get_status(user, execution_id)


def test_the_count_sees_a_poll_that_reads_step_functions(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The zero above is a measurement: a poll that calls DescribeExecution is counted as such."""
    run = measure_upscale_run(monkeypatch, tmp_path_factory.mktemp("describing"), poll_service=DescribingService)
    for kind in POLLS:
        assert run.calls[kind].by_api[("stepfunctions", "DescribeExecution")] == 1
        assert run.calls[kind].states_reads() == 1
