"""A status poll reads the execution index and the job's progress.json, never a Step Functions read API
(the issue "1,000 images a minute": DescribeExecution and GetExecutionHistory are rate-limited)."""

from __future__ import annotations

from typing import Any

import pytest

from aiorch.analysis import AnalysisService
from aiorch.contracts import ExecutionStatus, Outcome
from aiorch.index.stages import (
    QUEUED_FOR_GPU,
    QUEUED_TO_VALIDATE,
    RECORDING,
    VALIDATING,
    note_job_stage,
    note_stage,
    share_identifier,
)
from tests.fakes.states import FakeStates

READS = ("describe_execution", "get_execution_history")


class RecordingStates(FakeStates):
    """FakeStates that counts every read API call made of it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self.reads.append("DescribeExecution")
        return super().describe_execution(executionArn)

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        self.reads.append("GetExecutionHistory")
        return super().get_execution_history(**kwargs)


@pytest.fixture
def states() -> RecordingStates:
    return RecordingStates()


@pytest.fixture
def service(settings, storage, states) -> AnalysisService:
    return AnalysisService(settings, storage=storage, states_client=states)


def job_environment(record: Any) -> dict[str, str]:
    """What the ASL gives every Batch job (AIORCH_EXECUTION_ARN, AIORCH_USER)."""
    return {"AIORCH_EXECUTION_ARN": record.execution_arn, "AIORCH_USER": record.user}


def test_a_running_poll_calls_no_step_functions_read_api(service, states, storage, photo_png) -> None:
    record = service.submit("alice", "inpaint", service.store_upload("alice", photo_png).key)
    polls = []

    def poll() -> Any:
        before = len(states.reads)
        view = service.get_status("alice", record.execution_id)
        polls.append(len(states.reads) - before)
        return view

    first = poll()  # as submit wrote it: the first state entered
    assert (first.current_state, first.stage) == ("ValidateInput", QUEUED_TO_VALIDATE)
    note_stage(service.index, "alice", record.execution_id, "ValidateInput", VALIDATING)
    validating = poll()
    assert (validating.current_state, validating.stage) == ("ValidateInput", VALIDATING)
    assert validating.stage_at == service.index.get("alice", record.execution_id).stage_at

    detect = ["detect-text", "--input", "s3://b/in.png", "--output", "s3://b/out/"]
    assert note_job_stage(service.index, job_environment(record), detect, "RUNNABLE")
    view = poll()
    assert view.current_state == "DetectText" and view.status is ExecutionStatus.RUNNING
    assert view.stage == QUEUED_FOR_GPU  # what the run waits for, in the view itself

    assert note_job_stage(service.index, job_environment(record), detect, "RUNNING")
    assert poll().stage == "running detect-text"
    storage.put_json(
        f"results/alice/{record.execution_id}/detect-text/progress.json", {"stage": "detect", "done": 1, "total": 2}
    )
    view = poll()
    assert view.current_state == "DetectText" and view.progress.done == 1

    # The job finished; the next one is queued: the index says so, not the history.
    storage.put_json(
        f"results/alice/{record.execution_id}/detect-text/progress.json", {"stage": "done", "done": 1, "total": 1}
    )
    inpaint = ["inpaint", "--input", "s3://b/in.png", "--output", "s3://b/out2/"]
    note_job_stage(service.index, job_environment(record), inpaint, "RUNNABLE")
    assert poll().current_state == "Inpaint"

    note_stage(service.index, "alice", record.execution_id, "RecordResult", RECORDING)
    recording = poll()
    assert (recording.current_state, recording.stage) == ("RecordResult", RECORDING)
    # Every poll of the running execution: no DescribeExecution, no GetExecutionHistory.
    assert polls == [0] * len(polls) and states.reads == []

    # A list page reads none either.
    service.list_executions("alice")
    assert states.reads == []

    # The ops view still reads the history (that is what it is for).
    service.history("alice", record.execution_id)
    assert "GetExecutionHistory" in states.reads


def test_a_poll_answers_while_the_workflow_service_is_down(settings, storage, photo_png) -> None:
    class Down(FakeStates):
        def describe_execution(self, **kwargs: Any) -> dict[str, Any]:
            raise AssertionError("a status poll must not call DescribeExecution")

        def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
            raise AssertionError("a status poll must not call GetExecutionHistory")

    service = AnalysisService(settings, storage=storage, states_client=Down())
    record = service.submit("alice", "upscale", service.store_upload("alice", photo_png).key)
    assert service.get_status("alice", record.execution_id).status is ExecutionStatus.RUNNING


def test_a_stage_never_reaches_an_ended_record(service, photo_png) -> None:
    record = service.submit("alice", "upscale", service.store_upload("alice", photo_png).key)
    service.index.finalise(
        "alice", record.execution_id, Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="RecordResult")
    )
    late = note_job_stage(service.index, job_environment(record), ["upscale", "--input", "x"], "RUNNING")
    assert late is False
    stored = service.index.get("alice", record.execution_id)
    assert stored.status is ExecutionStatus.SUCCEEDED and stored.current_state == "ValidateInput"
    # The record keeps its last stage; the view of an ended execution shows none (it waits for nothing).
    assert stored.stage is not None
    ended = service.get_status("alice", record.execution_id)
    assert ended.stage is None and ended.stage_at is None
    assert note_stage(service.index, "alice", "no-such-id", "Upscale", "running upscale") is False


def test_a_job_that_is_not_ours_or_has_no_user_writes_nothing(service, photo_png) -> None:
    record = service.submit("alice", "upscale", service.store_upload("alice", photo_png).key)
    assert not note_job_stage(service.index, {"AIORCH_EXECUTION_ARN": record.execution_arn}, ["upscale"], "RUNNING")
    assert not note_job_stage(service.index, job_environment(record), ["sharpen"], "RUNNING")
    assert not note_job_stage(service.index, job_environment(record), ["upscale", "--batch", "[]"], "SUCCEEDED")
    assert note_job_stage(service.index, job_environment(record), ["upscale", "--batch", "[]"], "RUNNABLE")
    assert service.index.get("alice", record.execution_id).current_state == "ChunkJob"


def test_the_share_identifier_is_a_hash_of_the_user() -> None:
    assert share_identifier("alice") == share_identifier("alice") != share_identifier("bob")
    assert "alice" not in share_identifier("alice") and share_identifier("alice").isalnum()
    # At most 256 identifiers: a fair-share queue takes 500 active ones.
    assert len({share_identifier(f"user-{n}") for n in range(5000)}) == 256


def test_a_batch_job_state_change_event_becomes_the_stage(service, states, photo_png) -> None:
    """In AWS, EventBridge sends Batch's "Job State Change" to the status-change Lambda."""
    from lambdas.status_change.handler import record_job_stage

    record = service.submit("alice", "upscale", service.store_upload("alice", photo_png).key)
    environment = [{"name": k, "value": v} for k, v in job_environment(record).items()]
    for status, stage in (("RUNNABLE", QUEUED_FOR_GPU), ("STARTING", QUEUED_FOR_GPU), ("RUNNING", "running upscale")):
        detail = {
            "jobName": f"{record.execution_id}-upscale",
            "status": status,
            "container": {"command": ["upscale", "--input", "s3://b/i.png"], "environment": environment},
        }
        assert record_job_stage(detail, service.index)["stage_written"] is True
        view = service.get_status("alice", record.execution_id)
        assert (view.current_state, view.stage) == ("Upscale", stage)
    assert states.reads == []
