"""The local states service runs the real definition end to end (fake Lambdas and jobs, real orchestration)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from states_harness import USER, LocalStates, make_settings, wait_for

from aiorch.contracts import ExecutionStatus
from aiorch.index.history import load_history
from aiorch.states import states_client
from aiorch.states.history import describe
from aiorch.storage import open_app_storage
from workflows.local.client import ensure_service, pid_alive, service_pid, stop_service

pytestmark = pytest.mark.functional

STATES_FOR = {
    "upscale": ["ValidateInput", "ChooseOperation", "Upscale", "RecordResult", "Succeeded"],
    "denoise": ["ValidateInput", "ChooseOperation", "Denoise", "RecordResult", "Succeeded"],
    "inpaint": [
        "ValidateInput",
        "ChooseOperation",
        "DetectText",
        "AfterDetectText",
        "Inpaint",
        "RecordResult",
        "Succeeded",
    ],
    "detect_text": ["ValidateInput", "ChooseOperation", "DetectText", "AfterDetectText", "RecordResult", "Succeeded"],
}
JOBS_FOR = {
    "upscale": ["upscale"],
    "denoise": ["denoise"],
    "inpaint": ["detect-text", "inpaint"],
    "detect_text": ["detect-text"],
}
JOB_STATES_FOR = {
    "upscale": {"Upscale"},
    "denoise": {"Denoise"},
    "inpaint": {"DetectText", "Inpaint"},
    "detect_text": {"DetectText"},
}


def _job_pid(states: LocalStates, execution_id: str, job: str) -> int:
    pid_file = states.job_dir(execution_id, job) / "pid"
    wait_for(pid_file.exists, 20, f"{job} job of {execution_id} to start")
    return int(pid_file.read_text())


@pytest.mark.parametrize("operation", sorted(STATES_FOR))
def test_each_operation_runs_its_jobs_and_succeeds(local_states: LocalStates, operation: str) -> None:
    execution_id, arn = local_states.start(operation)

    described = local_states.wait(arn)

    assert described["status"] == "SUCCEEDED"
    report = describe(local_states.client, arn)
    assert [s.name for s in report.states] == STATES_FOR[operation]
    assert all(s.outcome == "succeeded" and s.exited_at >= s.entered_at for s in report.states)
    for job in JOBS_FOR[operation]:
        assert (local_states.job_dir(execution_id, job) / "result.txt").exists()
        assert json.loads((local_states.job_dir(execution_id, job) / "progress.json").read_text())["done"] == 4
    output = json.loads(described["output"])
    assert set(output["jobs"]) == JOB_STATES_FOR[operation]  # only job ids travel on, keyed by state
    assert all(job["job_id"] for job in output["jobs"].values())
    record = local_states.index.get(USER, execution_id)
    assert record.status is ExecutionStatus.SUCCEEDED and record.recorded_by == "RecordResult"


def test_throttled_submit_job_is_retried_then_succeeds(local_states: LocalStates) -> None:
    local_states.set_faults({"batch.SubmitJob": [{"code": "TooManyRequestsException", "status": 429, "times": 1}]})
    execution_id, arn = local_states.start("denoise")

    assert local_states.wait(arn)["status"] == "SUCCEEDED"

    (denoise,) = [s for s in describe(local_states.client, arn).states if s.name == "Denoise"]
    assert denoise.attempts == 2
    assert [f.error for f in denoise.failures] == ["Batch.TooManyRequestsException"]
    assert len(local_states.calls("fault")) == 1
    assert len(local_states.calls("job_started", execution_id)) == 1


def test_lambda_service_error_is_retried_then_succeeds(local_states: LocalStates) -> None:
    local_states.set_faults(
        {
            "lambda.Invoke": [
                {"code": "ServiceException", "status": 500, "times": 1, "function": "aiorch-validate-input"}
            ]
        }
    )
    execution_id, arn = local_states.start("upscale")

    assert local_states.wait(arn)["status"] == "SUCCEEDED"

    validate = describe(local_states.client, arn).states[0]
    assert (validate.name, validate.attempts) == ("ValidateInput", 2)
    assert [f.error for f in validate.failures] == ["Lambda.ServiceException"]
    assert len(local_states.calls("validate_input", execution_id)) == 1  # the fault came before the handler


def test_a_job_that_always_fails_fails_the_execution_with_its_error(local_states: LocalStates) -> None:
    execution_id, arn = local_states.start("upscale", fail=True)

    described = local_states.wait(arn)

    assert described["status"] == "FAILED"
    assert described["error"] == "Failed.States.TaskFailed"
    cause = json.loads(described["cause"])  # the DescribeJobs JSON, as AWS gives it
    assert cause["Status"] == "FAILED" and cause["Container"]["ExitCode"] == 3
    assert "exited with code 3" in cause["StatusReason"]
    error_json = json.loads((local_states.job_dir(execution_id, "upscale") / "error.json").read_text())
    assert error_json["type"] == "FakeJobFailed"
    (recorded,) = local_states.calls("record_failure", execution_id)
    assert recorded["event"]["input"]["error"]["Error"] == "States.TaskFailed"
    record = local_states.index.get(USER, execution_id)
    assert record.status is ExecutionStatus.FAILED and record.recorded_by == "RecordFailure"
    assert len(local_states.calls("job_started", execution_id)) == 1  # a failed job is not retried


def test_invalid_request_fails_at_validate_input_without_retry_or_job(local_states: LocalStates) -> None:
    execution_id, arn = local_states.start("denoise", invalid="the upload is not an image")

    described = local_states.wait(arn)

    assert described["status"] == "FAILED"
    assert described["error"] == "Failed.InvalidRequest"
    assert json.loads(described["cause"])["errorMessage"] == "the upload is not an image"
    report = describe(local_states.client, arn)
    assert [s.name for s in report.states] == ["ValidateInput", "RecordFailure", "CauseGiven", "Failed"]
    assert report.states[0].attempts == 1
    assert len(local_states.calls("validate_input", execution_id)) == 1
    assert local_states.calls("job_started", execution_id) == []
    assert len(local_states.calls("record_failure", execution_id)) == 1


@pytest.mark.slow
def test_ten_executions_with_two_job_slots_all_finish_and_never_exceed_the_slots(
    local_states: LocalStates,
) -> None:
    started = [local_states.start("upscale", sleep_s=0.6) for _ in range(10)]

    statuses = [local_states.wait(arn, timeout_s=90)["status"] for _, arn in started]

    assert statuses == ["SUCCEEDED"] * 10
    intervals = _job_intervals(local_states, {execution_id for execution_id, _ in started})
    assert len(intervals) == 10  # one job per execution, none lost
    assert _max_overlap(intervals) == 2  # both slots used, never more


def _job_intervals(states: LocalStates, ids: set[str]) -> list[tuple[float, float]]:
    started = {c["pid"]: c["at"] for c in states.calls("job_started") if any(i in c["output"] for i in ids)}
    return [(started[c["pid"]], c["at"]) for c in states.calls("job_ended") if c["pid"] in started]


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def test_stop_execution_ends_the_job_within_seconds_and_reports_aborted(local_states: LocalStates) -> None:
    execution_id, arn = local_states.start("denoise", sleep_s=60)
    pid = _job_pid(local_states, execution_id, "denoise")

    local_states.client.stop_execution(executionArn=arn, error="UserCancelled", cause="stopped by the test")
    stopped_at = time.monotonic()

    wait_for(lambda: not pid_alive(pid), 8, f"job process {pid} to end")
    assert time.monotonic() - stopped_at < 8
    assert local_states.wait(arn)["status"] == "ABORTED"
    events = wait_for(lambda: local_states.calls("status_change", execution_id), 10, "status-change event")
    assert [e["event"]["detail"]["status"] for e in events] == ["ABORTED"]
    record = wait_for(
        lambda: (r := local_states.index.get(USER, execution_id)) and r.status.is_final and r,
        10,
        "the index entry to be finalised",
    )
    assert record.status is ExecutionStatus.ABORTED
    (denoise,) = [s for s in describe(local_states.client, arn).states if s.name == "Denoise"]
    assert denoise.outcome == "aborted"  # moto's spurious TaskSucceeded is not shown as success
    assert not (local_states.job_dir(execution_id, "denoise") / "result.txt").exists()


@pytest.mark.slow
def test_service_killed_mid_execution_reports_interrupted_and_leaves_no_job(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    ensure_service(settings, timeout_s=60)
    states = LocalStates(settings, states_client(settings))
    try:
        execution_id, _ = states.start("upscale", sleep_s=60)
        job_pid = _job_pid(states, execution_id, "upscale")
        service = service_pid(settings)
        assert service is not None and pid_alive(job_pid)

        os.kill(service, signal.SIGKILL)

        wait_for(lambda: not pid_alive(service), 5, "the service to die")
        wait_for(lambda: not pid_alive(job_pid), 5, f"job process {job_pid} to die with the service")
        ensure_service(settings, timeout_s=60)
        events = wait_for(lambda: states.calls("status_change", execution_id), 30, "INTERRUPTED event")
        assert [e["event"]["detail"]["status"] for e in events] == ["INTERRUPTED"]
        # The handler records the call before it finalises the index: wait for the index too.
        record = wait_for(
            lambda: (r := states.index.get(USER, execution_id)) and r.status.is_final and r,
            10,
            "the index entry to be finalised",
        )
        assert record.status is ExecutionStatus.INTERRUPTED and record.recorded_by == "StatusChange"
        t0 = time.monotonic()
        ensure_service(settings)  # already up: returns at once
        assert time.monotonic() - t0 < 2

        second_id, _ = states.start("upscale", sleep_s=60)
        second_job = _job_pid(states, second_id, "upscale")
        assert stop_service(settings)  # SIGTERM: the service ends its jobs on the way out
        wait_for(lambda: not pid_alive(second_job), 5, f"job process {second_job} to end with the service")
        # ... and records the execution INTERRUPTED before it exits, its history kept as it stood.
        stopped = states.index.get(USER, second_id)
        assert stopped is not None and stopped.status is ExecutionStatus.INTERRUPTED
        kept = load_history(open_app_storage(settings), USER, second_id)
        assert kept is not None, "the state history of an execution cut off by SIGTERM was not kept"
        assert "Upscale" in {e.get("stateEnteredEventDetails", {}).get("name") for e in kept[1]}
    finally:
        stop_service(settings)


@pytest.mark.slow
def test_a_job_past_its_timeout_fails_the_execution_and_is_ended(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, job_timeout_s=3)  # rendered into the jobs' TimeoutSeconds
    ensure_service(settings, timeout_s=60)
    states = LocalStates(settings, states_client(settings))
    try:
        execution_id, arn = states.start("denoise", sleep_s=60)
        job_pid = _job_pid(states, execution_id, "denoise")

        described = states.wait(arn, timeout_s=30)

        assert described["status"] == "FAILED"
        assert described["error"] == "Failed.States.Timeout"
        assert len(states.calls("record_failure", execution_id)) == 1
        wait_for(lambda: not pid_alive(job_pid), 8, f"timed-out job {job_pid} to be ended")
    finally:
        stop_service(settings)
