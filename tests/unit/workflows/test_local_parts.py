"""The local states service's parts on their own: casing, dispatch, history, the job runner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.session
import pytest

from aiorch.settings import Settings
from aiorch.states import states_endpoint
from aiorch.states.history import summarise
from tests.support import fake_job_runner, job_status, submit_fake_job, wait_final, wait_for
from workflows.local.casing import to_boto_casing, to_sfn_casing
from workflows.local.client import settings_env
from workflows.local.dispatch import (
    DEFAULT_FUNCTIONS,
    DispatchError,
    batch_name,
    function_name,
    load_dispatch,
)
from workflows.local.jobs import JobRunner


@pytest.fixture(scope="module")
def batch_model():
    return botocore.session.get_session().get_service_model("batch")


# --- casing ---------------------------------------------------------------------------------
def test_step_functions_parameters_become_boto_parameters(batch_model) -> None:
    shape = batch_model.operation_model("SubmitJob").input_shape
    sfn = {
        "JobName": "j",
        "JobQueue": "q",
        "ContainerOverrides": {
            "Command": ["upscale", "--input", "x"],
            "Environment": [{"Name": "AIORCH_EXECUTION_ARN", "Value": "arn"}, {"name": "A", "value": "b"}],
        },
        "Tags": {"KeepMyCase": "Value"},
    }
    assert to_boto_casing(sfn, shape) == {
        "jobName": "j",
        "jobQueue": "q",
        "containerOverrides": {
            "command": ["upscale", "--input", "x"],
            "environment": [{"name": "AIORCH_EXECUTION_ARN", "value": "arn"}, {"name": "A", "value": "b"}],
        },
        "tags": {"KeepMyCase": "Value"},  # map keys are data, not member names
    }


def test_boto_job_description_becomes_step_functions_casing(batch_model) -> None:
    shape = batch_model.operation_model("DescribeJobs").output_shape.members["jobs"].member
    job = {"jobId": "1", "status": "FAILED", "container": {"exitCode": 3, "environment": [{"name": "A", "value": "b"}]}}
    assert to_sfn_casing(job, shape) == {
        "JobId": "1",
        "Status": "FAILED",
        "Container": {"ExitCode": 3, "Environment": [{"Name": "A", "Value": "b"}]},
    }


# --- dispatch -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("aiorch-validate-input", "aiorch-validate-input"),
        ("arn:aws:lambda:eu-west-1:111122223333:function:my-fn", "my-fn"),
        ("arn:aws:lambda:eu-west-1:111122223333:function:my-fn:live", "my-fn"),
        ("111122223333:function:my-fn", "my-fn"),
    ],
)
def test_function_names_from_names_and_arns(given: str, expected: str) -> None:
    assert function_name(given) == expected


def test_batch_names_from_names_and_arns() -> None:
    assert batch_name("arn:aws:batch:us-east-1:1:job-definition/aiorch-job:7", "job-definition") == "aiorch-job"
    assert batch_name("aiorch-job:7", "job-definition") == "aiorch-job"
    assert batch_name("arn:aws:batch:us-east-1:1:job-queue/gpu", "job-queue") == "gpu"


def test_dispatch_file_adds_names_to_the_local_defaults(tmp_path: Path) -> None:
    path = tmp_path / "dispatch.json"
    path.write_text(
        json.dumps(
            {
                "functions": {"tf-validate": "lambdas.validate_input.handler:handler"},
                "job_queues": ["tf-queue"],
                "job_definitions": ["tf-job"],
            }
        )
    )
    dispatch = load_dispatch(Settings(states_dispatch_file=path))
    assert dispatch.functions == DEFAULT_FUNCTIONS | {"tf-validate": "lambdas.validate_input.handler:handler"}
    assert dispatch.knows_queue("arn:aws:batch:us-east-1:123456789012:job-queue/tf-queue")
    assert dispatch.knows_queue("aiorch-local-queue")
    assert dispatch.knows_definition("tf-job:1")
    assert not dispatch.knows_definition("other")
    assert function_name("arn:aws:lambda:us-east-1:1:function:nobody") not in dispatch.functions


@pytest.mark.parametrize(
    "content", ["not json", json.dumps({"functions": {"x": "no-colon"}}), json.dumps({"unknown": 1})]
)
def test_bad_dispatch_files_are_refused_clearly(tmp_path: Path, content: str) -> None:
    path = tmp_path / "dispatch.json"
    path.write_text(content)
    with pytest.raises(DispatchError, match=r"dispatch|handler"):
        load_dispatch(Settings(states_dispatch_file=path))


# --- history --------------------------------------------------------------------------------
def _events(*specs: tuple) -> list[dict]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = []
    for i, (kind, details) in enumerate(specs):
        event = {"id": i + 1, "type": kind, "timestamp": start + timedelta(seconds=i)}
        event.update(details)
        events.append(event)
    return events


def _entered(name: str, kind: str = "Task") -> tuple:
    return (f"{kind}StateEntered", {"stateEnteredEventDetails": {"name": name}})


def _exited(name: str, kind: str = "Task") -> tuple:
    return (f"{kind}StateExited", {"stateExitedEventDetails": {"name": name}})


DESCRIBED = {"executionArn": "arn:x", "name": "01J", "startDate": None, "stopDate": None}


def test_history_drops_motos_spurious_success_before_an_abort() -> None:
    # The sequence moto 5.2.5 records when StopExecution hits a running .sync job.
    events = _events(
        ("ExecutionStarted", {}),
        _entered("Denoise"),
        ("TaskScheduled", {}),
        ("TaskSubmitted", {"taskSubmittedEventDetails": {"output": json.dumps({"JobId": "job-1"})}}),
        ("TaskSucceeded", {"taskSucceededEventDetails": {"output": "null"}}),
        ("ExecutionAborted", {"executionAbortedEventDetails": {"error": "", "cause": ""}}),
    )
    report = summarise(events, DESCRIBED | {"status": "ABORTED", "error": "", "cause": ""})
    (denoise,) = report.states
    assert (denoise.name, denoise.outcome, denoise.job_id, denoise.exited_at) == ("Denoise", "aborted", "job-1", None)
    assert report.error is None and report.cause is None


def test_history_lists_states_with_retries_and_caught_failures() -> None:
    events = _events(
        ("ExecutionStarted", {}),
        _entered("ValidateInput"),
        ("TaskScheduled", {}),
        ("TaskFailed", {"taskFailedEventDetails": {"error": "Lambda.ServiceException", "cause": "busy"}}),
        ("TaskScheduled", {}),
        ("TaskSucceeded", {"taskSucceededEventDetails": {"output": "{}"}}),
        _exited("ValidateInput"),
        _entered("Upscale"),
        ("TaskScheduled", {}),
        ("TaskFailed", {"taskFailedEventDetails": {"error": "States.TaskFailed", "cause": "{}"}}),
        _exited("Upscale"),
        _entered("RecordFailure"),
        ("TaskScheduled", {}),
        ("TaskSucceeded", {"taskSucceededEventDetails": {"output": "{}"}}),
        _exited("RecordFailure"),
        _entered("Failed", "Fail"),
        ("ExecutionFailed", {"executionFailedEventDetails": {"error": "Failed.States.TaskFailed"}}),
    )
    report = summarise(events, DESCRIBED | {"status": "FAILED", "error": "Failed.States.TaskFailed", "cause": "{}"})
    outcomes = [(s.name, s.outcome, s.attempts, [f.error for f in s.failures]) for s in report.states]
    assert outcomes == [
        ("ValidateInput", "succeeded", 2, ["Lambda.ServiceException"]),
        ("Upscale", "failed", 1, ["States.TaskFailed"]),
        ("RecordFailure", "succeeded", 1, []),
        ("Failed", "failed", 0, []),
    ]
    assert report.states[0].exited_at - report.states[0].entered_at == timedelta(seconds=5)


# --- the job runner -------------------------------------------------------------------------
def test_runner_queues_beyond_its_slots_and_reports_exit_codes(tmp_path: Path) -> None:
    runner = fake_job_runner(tmp_path, slots=1)
    try:
        first = submit_fake_job(runner, tmp_path, "first", sleep_s=1)
        second = submit_fake_job(runner, tmp_path, "second", fail=True)
        wait_for(lambda: job_status(runner, first.job_id)["status"] == "RUNNING", 10, "the first job to start")
        assert job_status(runner, second.job_id)["status"] == "RUNNABLE"  # one slot: it waits
        ok, failed = wait_final(runner, first.job_id), wait_final(runner, second.job_id)
        assert ok["status"] == "SUCCEEDED" and ok["container"]["exitCode"] == 0
        assert failed["status"] == "FAILED" and failed["container"]["exitCode"] == 3
        assert "exited with code 3" in failed["statusReason"]
        assert failed["startedAt"] >= ok["stoppedAt"]  # one slot: the second waited for the first
        assert "fake denoise job failed" in Path(failed["container"]["logStreamName"]).read_text()
    finally:
        runner.shutdown()


def test_runner_stops_a_running_job_and_a_queued_one(tmp_path: Path) -> None:
    runner = fake_job_runner(tmp_path, slots=1)
    try:
        running = submit_fake_job(runner, tmp_path, "running", sleep_s=30)
        queued = submit_fake_job(runner, tmp_path, "queued", sleep_s=30)
        wait_for(lambda: (tmp_path / "out/running/pid").exists(), 10, "the first job to start")
        runner.request_stop(running.job_id, "Execution ABORTED")
        runner.request_stop(queued.job_id, "Execution ABORTED")
        stopped = wait_final(runner, running.job_id, timeout_s=5)
        assert stopped["status"] == "FAILED" and stopped["statusReason"] == "Execution ABORTED"
        never_started = runner.describe([queued.job_id])[0]
        assert never_started["status"] == "FAILED" and "startedAt" not in never_started
    finally:
        runner.shutdown()


def test_runner_refuses_an_empty_command(tmp_path: Path) -> None:
    runner = JobRunner(Settings(data_dir=tmp_path))
    with pytest.raises(ValueError, match="command"):
        runner.submit(name="x", queue="q", definition="d", command=[], environment={})


# --- the client -----------------------------------------------------------------------------
def test_settings_travel_to_the_service_process_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, states_port=18999, job_slots=3, job_stop_check_s=0.25)
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings


def test_states_endpoint_is_local_unless_aws_is_configured() -> None:
    assert states_endpoint(Settings(states_port=18999)) == "http://127.0.0.1:18999"
    aws = Settings(state_machine_arn="arn:aws:states:eu-west-1:111122223333:stateMachine:image-ai-analysis")
    assert states_endpoint(aws) is None  # boto3's regional endpoint
    assert states_endpoint(Settings(states_endpoint_url="http://sfn.example:8083")) == "http://sfn.example:8083"


# --- the watchdog's retries -------------------------------------------------------------------
def test_a_failing_interrupted_report_backs_off_then_waits_for_the_sweep(settings: Settings) -> None:
    from aiorch.contracts import ExecutionRecord
    from aiorch.states import execution_arn
    from workflows.local.watchdog import MAX_HANDLER_ATTEMPTS, Watchdog

    now = [0.0]
    calls: list[float] = []  # the clock at each handler call

    def handler_down_for_eight_calls(event: dict, context: object) -> None:
        calls.append(now[0])
        if len(calls) <= 8:
            raise OSError(28, "No space left on device")

    watchdog = Watchdog(
        settings,
        runner=None,  # type: ignore[arg-type]
        states=None,
        status_change=handler_down_for_eight_calls,
        clock=lambda: now[0],
    )
    record = ExecutionRecord(
        execution_id="01JINTERRUPTED000000000000", user="alice", operation="upscale", input_key="k"
    )
    arn = execution_arn(settings.resolved_state_machine_arn, record.execution_id)
    watchdog.pending = watchdog.report_interrupted([record])
    while now[0] < 200:  # rounds every half second
        now[0] += 0.5
        watchdog.retry_interrupted()
    assert MAX_HANDLER_ATTEMPTS == 6
    assert calls == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0]  # pauses of 1, 2, 4, 8, 16 s, then no more rounds' tries
    assert watchdog.pending == [] and list(watchdog.for_sweep) == [arn]

    watchdog.sweep()  # the sweep tries again: still failing (7th call), still marked
    assert len(calls) == 7 and watchdog.for_sweep
    watchdog.sweep()  # 8th call fails too; the 9th, at the next sweep, succeeds and unmarks it
    watchdog.sweep()
    assert len(calls) == 9 and not watchdog.for_sweep
    watchdog.sweep()
    assert len(calls) == 9  # reported: never sent again


def test_local_jobs_side_by_side_wait_passively_unless_the_operator_said_otherwise(monkeypatch) -> None:
    """Jobs side by side must not spin on each other's cores (OpenMP's default wait)."""
    from workflows.local import workers

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert workers.thread_env(2) == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert workers.thread_env(1) == {}  # a job alone keeps the default
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert workers.thread_env(2) == {}  # the operator's own setting stays
