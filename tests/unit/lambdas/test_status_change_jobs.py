"""No Batch job outlives its execution (W8): the status-change handler ends an ended execution's jobs.

A stopped or timed-out execution can leave its job RUNNABLE (waiting for a GPU host); it would start
later and burn GPU time for a dead execution. Batch's API is stubbed here (botocore's Stubber checks
the exact requests); the AWS API smoke test calls ListJobs and TerminateJob against moto.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from aiorch.settings import get_settings
from lambdas.status_change import handler as status_change_module
from lambdas.status_change.handler import end_jobs_of, handler

EXEC = "01JEXECUTION0000000000000B"
QUEUE = "arn:aws:batch:us-east-1:123456789012:job-queue/aiorch-gpu"


def status_event(status: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-12-07T10:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:states:us-east-1:123456789012:execution:m:{EXEC}"],
        "detail": {
            "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:m:{EXEC}",
            "name": EXEC,
            "status": status,
            "startDate": 1764150000000,
            "stopDate": 1764150005000,
            "input": json.dumps({"other": 1}),  # no request: the record part is skipped, the jobs part is not
        },
    }


def summary(job_id: str, name: str, status: str) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "jobArn": f"arn:aws:batch:us-east-1:123456789012:job/{job_id}",
        "jobName": name,
        "status": status,
    }


def stubbed_batch(listed: list[dict[str, Any]], terminated: list[str]) -> tuple[Any, Stubber]:
    client = boto3.client("batch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response(
        "list_jobs",
        {"jobSummaryList": listed},
        {"jobQueue": QUEUE, "filters": [{"name": "JOB_NAME", "values": [f"{EXEC}-*"]}]},
    )
    for job_id in terminated:
        stub.add_response("terminate_job", {}, {"jobId": job_id, "reason": f"execution {EXEC} ended ABORTED"})
    stub.activate()
    return client, stub


def test_end_jobs_of_terminates_only_the_executions_unfinished_jobs() -> None:
    listed = [
        summary("j1", f"{EXEC}-upscale", "RUNNABLE"),  # waiting for a GPU host: would start later
        summary("j2", f"{EXEC}-detect_text-0", "RUNNING"),
        summary("j3", f"{EXEC}-inpaint-0", "SUCCEEDED"),  # already ended: left alone
        summary("j4", f"{EXEC}-inpaint-1", "SUBMITTED"),
        summary("j5", f"{EXEC.lower()}x-upscale", "RUNNABLE"),  # the filter ignores case; not this execution
    ]
    client, stub = stubbed_batch(listed, ["j1", "j2", "j4"])
    ended = end_jobs_of(EXEC, QUEUE, client, reason=f"execution {EXEC} ended ABORTED")
    assert ended == ["j1", "j2", "j4"]
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("status", ["ABORTED", "TIMED_OUT", "FAILED"])
def test_the_status_change_handler_ends_the_jobs_of_an_ended_execution(monkeypatch, status) -> None:
    monkeypatch.setenv("AIORCH_BATCH_JOB_QUEUE", QUEUE)
    get_settings.cache_clear()
    client = boto3.client("batch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response(
        "list_jobs",
        {"jobSummaryList": [summary("j1", f"{EXEC}-upscale", "RUNNABLE")]},
        {"jobQueue": QUEUE, "filters": [{"name": "JOB_NAME", "values": [f"{EXEC}-*"]}]},
    )
    stub.add_response("terminate_job", {}, {"jobId": "j1", "reason": f"execution {EXEC} ended {status}"})
    stub.activate()
    monkeypatch.setattr(status_change_module, "batch_client", lambda region: client)
    out = handler(status_event(status), None)
    assert out["ended_jobs"] == ["j1"]
    stub.assert_no_pending_responses()


def test_a_succeeded_execution_leaves_batch_alone(monkeypatch) -> None:
    monkeypatch.setenv("AIORCH_BATCH_JOB_QUEUE", QUEUE)
    get_settings.cache_clear()
    monkeypatch.setattr(status_change_module, "batch_client", pytest.fail)  # no Batch call at all
    assert handler(status_event("SUCCEEDED"), None)["ended_jobs"] == []


def test_locally_no_queue_is_set_and_no_batch_call_is_made(monkeypatch) -> None:
    """The local states service runs this handler from its watchdog, which stops local jobs itself;
    with no AIORCH_BATCH_JOB_QUEUE (the local default) the handler calls no Batch API."""
    assert get_settings().batch_job_queue is None
    monkeypatch.setattr(status_change_module, "batch_client", pytest.fail)
    out = handler(status_event("INTERRUPTED"), None)
    assert out["ended_jobs"] == []
