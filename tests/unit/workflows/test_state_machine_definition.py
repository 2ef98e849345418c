"""The state machine definition: its contract with the Lambdas, Batch, Terraform and Settings."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from aiorch.contracts import JOB_FOR_AFTER_STATE, JOBS_FOR_OPERATION, STATE_FOR_JOB
from aiorch.settings import Settings
from workflows.definition import (
    DEFINITION_PATH,
    JOB_TASKS,
    LAMBDA_TASKS,
    PLACEHOLDERS,
    DefinitionError,
    batch_job_task,
    load_definition_text,
    placeholders_in,
    render_definition,
)
from workflows.local import LOCAL_VALUES

REPO = Path(__file__).resolve().parents[3]
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


@pytest.fixture
def states() -> dict:
    return json.loads(load_definition_text())["States"]


def test_the_file_uses_exactly_the_placeholders_terraform_fills() -> None:
    assert placeholders_in(load_definition_text()) == set(PLACEHOLDERS)


def every_state(states: dict) -> dict:
    """Each state by name, those inside a Map's ItemProcessor too."""
    found = {}
    for name, state in states.items():
        found[name] = state
        if "ItemProcessor" in state:
            found |= every_state(state["ItemProcessor"]["States"])
    return found


def test_placeholders_appear_only_inside_parameters(states: dict) -> None:
    for name, state in every_state(states).items():
        outside = {k: v for k, v in state.items() if k not in ("Parameters", "ItemProcessor")}
        assert not placeholders_in(json.dumps(outside)), name


def test_state_names_and_flow(states: dict) -> None:
    assert set(states) == {
        *LAMBDA_TASKS,
        *JOB_TASKS,
        *JOB_FOR_AFTER_STATE,  # AfterDetectText: where detect_text and inpaint part
        "ChooseOperation",
        "UnknownOperation",
        "RunChunks",
        "Succeeded",
        "CauseGiven",
        "Failed",
        "FailedWithoutCause",
    }
    batch, *by_operation = states["ChooseOperation"]["Choices"]
    assert batch["Next"] == "RunChunks"  # a batch first, whatever its operation: its chunks name their jobs
    choices = {c["StringEquals"]: c["Next"] for c in by_operation}
    assert choices == {op.value: STATE_FOR_JOB[jobs[0]] for op, jobs in JOBS_FOR_OPERATION.items()}
    assert choices["inpaint"] == choices["detect_text"] == "DetectText"
    # An unmatched operation is recorded as a failure, not States.NoChoiceMatched.
    assert states["ChooseOperation"]["Default"] == "UnknownOperation"
    assert states["UnknownOperation"]["ResultPath"] == "$.error"
    assert states["UnknownOperation"]["Next"] == "RecordFailure"
    assert states["ValidateInput"]["Next"] == "ChooseOperation"
    # detect_text runs only the OCR job and is recorded; inpaint goes on to LaMa.
    assert states["DetectText"]["Next"] == "AfterDetectText"
    assert states["AfterDetectText"]["Choices"] == [
        {"Variable": "$.validated.operation", "StringEquals": "detect_text", "Next": "RecordResult"}
    ]
    assert states["AfterDetectText"]["Default"] == "Inpaint"
    last_jobs = {STATE_FOR_JOB[jobs[-1]] for op, jobs in JOBS_FOR_OPERATION.items() if op.value != "detect_text"}
    assert {"Upscale", "Denoise", "Inpaint"} <= last_jobs
    assert [states[s]["Next"] for s in sorted(last_jobs)] == ["RecordResult"] * len(last_jobs)
    assert states["RecordResult"]["Next"] == "Succeeded"
    assert states["RecordFailure"]["Next"] == "CauseGiven"


def test_cause_path_is_used_only_where_a_cause_is_a_string(states: dict) -> None:
    """CausePath on a missing Cause is States.Runtime in AWS, hiding the real error.

    moto passes a missing cause through as null instead (so the mock run cannot show the AWS failure);
    AWS: "Fail workflow state", CausePath must resolve to a string
    (https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html)."""
    rules = states["CauseGiven"]["Choices"]
    assert rules[0] == {"Variable": "$.error.Cause", "IsPresent": False, "Next": "FailedWithoutCause"}
    assert rules[1] == {"Variable": "$.error.Cause", "IsString": True, "Next": "Failed"}
    assert states["CauseGiven"]["Default"] == "FailedWithoutCause"
    assert states["Failed"]["CausePath"] == "$.error.Cause"
    assert "CausePath" not in states["FailedWithoutCause"] and states["FailedWithoutCause"]["Cause"]
    assert states["FailedWithoutCause"]["ErrorPath"] == states["Failed"]["ErrorPath"]


def test_every_task_has_a_timeout_and_every_task_but_record_failure_catches_to_it(states: dict) -> None:
    for name in (*LAMBDA_TASKS, *JOB_TASKS):
        assert states[name]["TimeoutSeconds"] > 0, name
        catchers = states[name]["Catch"]
        assert catchers[0]["ErrorEquals"] == ["States.ALL"]
        if name == "RecordFailure":
            assert catchers[0]["Next"] == "CauseGiven"
            assert catchers[0]["ResultPath"] != "$.error"  # keeps the original error for Failed
        else:
            assert catchers[0] == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}


def test_retries_cover_service_errors_with_full_jitter_but_never_invalid_requests(states: dict) -> None:
    for name in LAMBDA_TASKS:
        (retrier,) = states[name]["Retry"]
        assert set(retrier["ErrorEquals"]) == LAMBDA_SERVICE_ERRORS
        assert retrier["JitterStrategy"] == "FULL"
    for name in JOB_TASKS:
        (retrier,) = states[name]["Retry"]
        assert "Batch.TooManyRequestsException" in retrier["ErrorEquals"]
        assert "States.TaskFailed" not in retrier["ErrorEquals"]  # Spot retries belong to the job definition
        assert retrier["JitterStrategy"] == "FULL"
    every_retried_error = {e for s in states.values() for r in s.get("Retry", []) for e in r["ErrorEquals"]}
    assert "InvalidRequest" not in every_retried_error
    assert not {"States.ALL", "States.TaskFailed"} & every_retried_error


def test_literal_timeouts_and_retries_equal_the_settings_defaults(states: dict) -> None:
    defaults = Settings()
    for name in LAMBDA_TASKS:
        assert states[name]["TimeoutSeconds"] == defaults.lambda_timeout_s
        assert states[name]["Retry"][0]["MaxAttempts"] == defaults.lambda_retry_max_attempts
        assert states[name]["Retry"][0]["BackoffRate"] == defaults.retry_backoff_rate
    for name in JOB_TASKS:
        assert states[name]["TimeoutSeconds"] == defaults.job_timeout_s
        assert states[name]["Retry"][0]["MaxAttempts"] == defaults.batch_throttle_retry_max_attempts
        assert states[name]["Retry"][0]["BackoffRate"] == defaults.retry_backoff_rate


def test_job_tasks_submit_the_validated_job_and_keep_only_its_id(states: dict) -> None:
    for name in JOB_TASKS:
        state = states[name]
        assert state["Resource"] == "arn:aws:states:::batch:submitJob.sync"
        parameters = state["Parameters"]
        assert parameters["JobName.$"] == f"$.validated.jobs.{name}.name"
        # Fair share: the job queue's scheduling policy serves users in turn (iac/modules/batch).
        assert parameters["ShareIdentifier.$"] == f"$.validated.jobs.{name}.share"
        assert parameters["ContainerOverrides"]["Command.$"] == f"$.validated.jobs.{name}.command"
        assert parameters["ContainerOverrides"]["Environment"] == [
            {"Name": "AIORCH_EXECUTION_ARN", "Value.$": "$$.Execution.Id"},
            {"Name": "AIORCH_USER", "Value.$": "$$.Execution.Input.request.user"},  # its index record's key
        ]
        assert state["ResultSelector"] == {"job_id.$": "$.JobId"}
        assert state["ResultPath"] == f"$.jobs.{name}"


def test_render_fills_values_and_applies_settings() -> None:
    settings = Settings(
        lambda_timeout_s=7,
        job_timeout_s=99,
        lambda_retry_max_attempts=1,
        batch_throttle_retry_max_attempts=2,
        retry_backoff_rate=1.5,
    )
    states = json.loads(render_definition(LOCAL_VALUES, settings))["States"]
    assert states["ValidateInput"]["Parameters"]["FunctionName"] == LOCAL_VALUES["validate_input_function"]
    assert states["Upscale"]["Parameters"]["JobQueue"] == LOCAL_VALUES["job_queue"]
    assert states["RecordFailure"]["TimeoutSeconds"] == 7
    assert states["Inpaint"]["TimeoutSeconds"] == 99
    assert states["RecordResult"]["Retry"][0]["MaxAttempts"] == 1
    assert states["Denoise"]["Retry"][0]["MaxAttempts"] == 2
    assert states["DetectText"]["Retry"][0]["BackoffRate"] == 1.5


@pytest.mark.parametrize(
    "values",
    [
        {k: v for k, v in LOCAL_VALUES.items() if k != "job_queue"},
        {**LOCAL_VALUES, "surprise": "x"},
        {**LOCAL_VALUES, "job_queue": 'bad"quote'},
        {**LOCAL_VALUES, "job_queue": ""},
    ],
)
def test_render_refuses_missing_unknown_or_unsafe_values(values: dict) -> None:
    with pytest.raises(DefinitionError):
        render_definition(values)


def _statelint() -> str:
    local = REPO / "node_modules" / ".bin" / "statelint"
    if local.exists():
        return str(local)
    if shutil.which("node") is None:
        pytest.skip("node is not installed: statelint (npm @wmfs/statelint) cannot run")
    pytest.fail("node is installed but statelint is not: run `npm install` at the repository root")


@pytest.mark.parametrize("path", sorted(DEFINITION_PATH.parent.glob("*.asl.json")), ids=lambda p: p.name)
def test_statelint_passes(path: Path) -> None:
    result = subprocess.run([_statelint(), str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_statelint_catches_a_broken_definition(tmp_path: Path) -> None:
    broken = json.loads(load_definition_text())
    broken["States"]["Upscale"]["Next"] = "NoSuchState"
    del broken["States"]["Succeeded"]["Type"]
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken))
    result = subprocess.run([_statelint(), str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "NoSuchState" in result.stdout


def test_a_batch_runs_each_chunk_s_jobs_in_order_and_a_failed_chunk_fails_only_its_images(states: dict) -> None:
    batch = states["ChooseOperation"]["Choices"][0]
    assert batch == {
        "And": [
            {"Variable": "$.validated.batch", "IsPresent": True},  # one-image requests carry no batch flag
            {"Variable": "$.validated.batch", "BooleanEquals": True},
        ],
        "Next": "RunChunks",
    }
    chunks = states["RunChunks"]
    assert (chunks["Type"], chunks["ItemsPath"], chunks["ResultPath"]) == ("Map", "$.validated.chunks", None)
    assert chunks["Next"] == "RecordResult"
    assert chunks["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}]
    inner = chunks["ItemProcessor"]["States"]
    jobs = inner["ChunkJobs"]
    assert (jobs["Type"], jobs["ItemsPath"], jobs["MaxConcurrency"]) == ("Map", "$.jobs", 1)  # in order
    assert jobs["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ChunkFailed"}]
    assert inner["ChunkFailed"] == {**inner["ChunkFailed"], "Type": "Pass", "End": True}
    task = batch_job_task({"States": states})
    assert task is jobs["ItemProcessor"]["States"]["ChunkJob"] and task["End"] is True
    assert task["Resource"] == "arn:aws:states:::batch:submitJob.sync"
    assert task["Parameters"]["JobName.$"] == "$.name"
    assert task["Parameters"]["ShareIdentifier.$"] == "$.share"  # each chunk job's user hash
    assert task["Parameters"]["ContainerOverrides"]["Command.$"] == "$.command"
    assert task["Parameters"]["ContainerOverrides"]["Environment"] == [
        {"Name": "AIORCH_EXECUTION_ARN", "Value.$": "$$.Execution.Id"},
        {"Name": "AIORCH_USER", "Value.$": "$$.Execution.Input.request.user"},
    ]
    assert task["Retry"] == states["Upscale"]["Retry"]  # throttling only, as every job task
    assert task["TimeoutSeconds"] == states["Upscale"]["TimeoutSeconds"]


def test_settings_reach_the_batch_job_task_inside_the_maps() -> None:
    values = dict.fromkeys(PLACEHOLDERS, "x")
    settings = Settings(job_timeout_s=1234, batch_throttle_retry_max_attempts=2)
    rendered = json.loads(render_definition(values, settings))
    task = batch_job_task(rendered)
    assert task["TimeoutSeconds"] == 1234 and task["Retry"][0]["MaxAttempts"] == 2


def _worst_case_wait_s(retrier: dict) -> float:
    """The longest total wait of a retrier (full jitter waits between 0 and this per attempt)."""
    interval, rate = retrier.get("IntervalSeconds", 1), retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return float(sum(min(interval * rate**attempt, cap) for attempt in range(retrier.get("MaxAttempts", 3))))


def test_lambda_throttling_is_retried_for_minutes_with_jitter_not_seconds(states: dict) -> None:
    """H5: 3 retries over about 7 s gave up while a new account's Lambda concurrency (10) was still full.
    A throttled or failing Lambda service is retried 8 times, 2 s doubling up to 30 s apart, with full
    jitter (so executions throttled together do not retry together). AWS Step Functions: "Handling
    errors in Step Functions workflows" (Retry fields: IntervalSeconds, MaxAttempts, BackoffRate,
    MaxDelaySeconds, JitterStrategy),
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html; "Lambda quotas"
    (concurrent executions), https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"""
    for name in LAMBDA_TASKS:
        (retrier,) = states[name]["Retry"]
        assert {"Lambda.TooManyRequestsException", "Lambda.ServiceException"} <= set(retrier["ErrorEquals"])
        assert retrier["MaxAttempts"] >= 6, name
        assert 60 <= _worst_case_wait_s(retrier) <= 300, (name, _worst_case_wait_s(retrier))
        assert 10 <= retrier["MaxDelaySeconds"] <= 60  # backoff up to tens of seconds, no single long sleep
        assert retrier["JitterStrategy"] == "FULL"
        # Each attempt gets its own TimeoutSeconds; the retries must still end long before the job tasks' hour.
        assert _worst_case_wait_s(retrier) + retrier["MaxAttempts"] * states[name]["TimeoutSeconds"] < 3600
