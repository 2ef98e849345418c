"""Workflow logic: the real definition with mocked task results (AWS Step Functions Local MockConfigFile).

Runs through moto's own mock engine (tests.unit.workflows.mock_config); Retry waits
are real, so each retried case takes a second or a few.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiorch.settings import Settings
from tests.unit.workflows.mock_config import (
    MOTO_VERSION,
    MockConfigError,
    _moto,
    build_test_case,
    load_mock_config,
    run_mocked,
)
from workflows.definition import LAMBDA_TASKS, render_definition
from workflows.local import LOCAL_VALUES

MOCK_CONFIG = Path(__file__).with_name("image_ai_analysis.mock_config.json")
MACHINE = "ImageAiAnalysis"
INPUT = {
    "request": {
        "execution_id": "01JEXAMPLE",
        "user": "u1",
        "operation": "upscale",
        "input_key": "uploads/u1/up1/original.png",
        "options": {},
    }
}
JOB_FAILED = "Failed.States.TaskFailed"
# Retry waits are real here: the Lambda tasks' throttling retries (8 attempts, 2 s doubling up to 30 s,
# about 150 s at most; asserted in test_state_machine_definition.py) run with 3 attempts and a 1 s cap,
# so the case that exhausts them takes seconds. Every other field is the deployed definition's.
TEST_LAMBDA_RETRIES = 3

# test case → (status, error, states entered in order, [(state, error) for every failed task attempt])
EXPECTED = {
    "UpscaleSucceeds": ("SUCCEEDED", None, ["ValidateInput", "ChooseOperation", "Upscale", "RecordResult"], []),
    "DenoiseSucceeds": ("SUCCEEDED", None, ["ValidateInput", "ChooseOperation", "Denoise", "RecordResult"], []),
    "InpaintSucceeds": (
        "SUCCEEDED",
        None,
        ["ValidateInput", "ChooseOperation", "DetectText", "AfterDetectText", "Inpaint", "RecordResult"],
        [],
    ),
    # The detect_text operation is the OCR job alone, recorded without LaMa's job.
    "DetectTextSucceedsWithoutInpaint": (
        "SUCCEEDED",
        None,
        ["ValidateInput", "ChooseOperation", "DetectText", "AfterDetectText", "RecordResult"],
        [],
    ),
    "ValidateInputRetriedAfterServiceError": (
        "SUCCEEDED",
        None,
        ["ValidateInput", "ChooseOperation", "Upscale", "RecordResult"],
        [("ValidateInput", "Lambda.ServiceException")],
    ),
    "SubmitJobRetriedAfterThrottling": (
        "SUCCEEDED",
        None,
        ["ValidateInput", "ChooseOperation", "Denoise", "RecordResult"],
        [("Denoise", "Batch.TooManyRequestsException")],
    ),
    "InvalidRequestNeverRetried": (
        "FAILED",
        "Failed.InvalidRequest",
        ["ValidateInput", "RecordFailure"],
        [("ValidateInput", "InvalidRequest")],
    ),
    "LambdaServiceErrorExhaustsRetries": (
        "FAILED",
        "Failed.Lambda.ServiceException",
        ["ValidateInput", "RecordFailure"],
        # the first attempt and TEST_LAMBDA_RETRIES retries
        [("ValidateInput", "Lambda.ServiceException")] * (1 + TEST_LAMBDA_RETRIES),
    ),
    "JobFails": (
        "FAILED",
        JOB_FAILED,
        ["ValidateInput", "ChooseOperation", "Upscale", "RecordFailure"],
        [("Upscale", "States.TaskFailed")],  # a failed job is not retried by the state machine
    ),
    "SecondInpaintJobFails": (
        "FAILED",
        JOB_FAILED,
        ["ValidateInput", "ChooseOperation", "DetectText", "AfterDetectText", "Inpaint", "RecordFailure"],
        [("Inpaint", "States.TaskFailed")],
    ),
    "JobTimesOut": (
        "FAILED",
        "Failed.States.Timeout",
        ["ValidateInput", "ChooseOperation", "Denoise", "RecordFailure"],
        [("Denoise", "States.Timeout")],
    ),
    "RecordResultFails": (
        "FAILED",
        "Failed.StorageUnavailable",
        ["ValidateInput", "ChooseOperation", "Upscale", "RecordResult", "RecordFailure"],
        [("RecordResult", "StorageUnavailable")],
    ),
    "RecordFailureFailsToo": (
        "FAILED",
        JOB_FAILED,  # the original error survives RecordFailure's own failure
        ["ValidateInput", "ChooseOperation", "Upscale", "RecordFailure"],
        [("Upscale", "States.TaskFailed"), ("RecordFailure", "StorageUnavailable")],
    ),
    # An operation without a branch is recorded (was States.NoChoiceMatched, unrecorded).
    "UnknownOperationIsRecorded": (
        "FAILED",
        "Failed.UnknownOperation",
        ["ValidateInput", "ChooseOperation", "UnknownOperation", "RecordFailure"],
        [],
    ),
    # An error without a Cause keeps its own error (CausePath on it was States.Runtime).
    "ErrorWithoutCauseKeepsItsError": (
        "FAILED",
        "Failed.States.Timeout",
        ["ValidateInput", "ChooseOperation", "Denoise", "RecordFailure"],
        [("Denoise", "States.Timeout")],
    ),
}
# The Fail state each failed case ends in (after CauseGiven picks it); "Failed" unless named here.
FAIL_STATE = {"ErrorWithoutCauseKeepsItsError": "FailedWithoutCause"}


@pytest.fixture(scope="module")
def config() -> dict:
    return load_mock_config(MOCK_CONFIG)


@pytest.fixture(scope="module")
def definition() -> str:
    rendered = json.loads(render_definition(LOCAL_VALUES, Settings(lambda_retry_max_attempts=TEST_LAMBDA_RETRIES)))
    for name in LAMBDA_TASKS:
        for retrier in rendered["States"][name].get("Retry", []):
            retrier["MaxDelaySeconds"] = 1
    return json.dumps(rendered)


def test_every_test_case_in_the_mock_config_has_an_expectation(config: dict) -> None:
    assert set(config["StateMachines"][MACHINE]["TestCases"]) == set(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_workflow_case(case: str, config: dict, definition: str) -> None:
    status, error, states, failures = EXPECTED[case]

    run = run_mocked(definition, config, state_machine=MACHINE, test_case=case, execution_input=INPUT)

    assert run.status == status
    assert run.error == error
    terminal = ["Succeeded"] if status == "SUCCEEDED" else ["CauseGiven", FAIL_STATE.get(case, "Failed")]
    assert run.states_entered == states + terminal
    assert run.task_failures() == failures


def test_failed_execution_carries_the_original_cause(config: dict, definition: str) -> None:
    run = run_mocked(definition, config, state_machine=MACHINE, test_case="JobFails", execution_input=INPUT)
    original = config["MockedResponses"]["JobFails"]["0"]["Throw"]["Cause"]
    assert run.cause == original
    assert json.loads(run.cause)["StatusReason"] == "Essential container in task exited"


def test_an_unknown_operation_fails_with_a_plain_cause(config: dict, definition: str) -> None:
    run = run_mocked(
        definition, config, state_machine=MACHINE, test_case="UnknownOperationIsRecorded", execution_input=INPUT
    )
    assert run.error == "Failed.UnknownOperation"
    assert run.cause and "no branch for this operation" in run.cause


def test_a_missing_cause_is_named_not_a_runtime_error(config: dict, definition: str) -> None:
    run = run_mocked(
        definition, config, state_machine=MACHINE, test_case="ErrorWithoutCauseKeepsItsError", execution_input=INPUT
    )
    assert run.error == "Failed.States.Timeout"  # not States.Runtime
    assert run.cause == "The failing state gave no cause; the execution's history has its error."


def test_success_keeps_only_job_ids_and_the_validated_request(config: dict, definition: str) -> None:
    run = run_mocked(definition, config, state_machine=MACHINE, test_case="InpaintSucceeds", execution_input=INPUT)
    assert set(run.output) == {"request", "validated", "jobs"}
    assert run.output["request"] == INPUT["request"]
    assert run.output["jobs"] == {
        "DetectText": {"job_id": "11111111-2222-3333-4444-555555555555"},
        "Inpaint": {"job_id": "11111111-2222-3333-4444-555555555555"},
    }


def test_job_submission_uses_the_validated_job_spec(config: dict, definition: str) -> None:
    run = run_mocked(definition, config, state_machine=MACHINE, test_case="UpscaleSucceeds", execution_input=INPUT)
    scheduled = [e["taskScheduledEventDetails"] for e in run.events if e["type"] == "TaskScheduled"]
    parameters = json.loads(next(s for s in scheduled if s["resourceType"] == "batch")["parameters"])
    spec = config["MockedResponses"]["ValidUpscale"]["0"]["Return"]["Payload"]["jobs"]["Upscale"]
    assert parameters["JobName"] == spec["name"]
    assert parameters["JobQueue"] == LOCAL_VALUES["job_queue"]
    assert parameters["JobDefinition"] == LOCAL_VALUES["job_definition"]
    assert parameters["ContainerOverrides"]["Command"] == spec["command"]
    # moto appends AWS's own MANAGED_BY_AWS variable in boto casing; ours is in Step Functions casing
    environment = {e["Name"]: e["Value"] for e in parameters["ContainerOverrides"]["Environment"] if "Name" in e}
    assert environment["AIORCH_EXECUTION_ARN"].endswith(f":execution:{MACHINE}:UpscaleSucceeds")
    assert environment["AIORCH_USER"] == INPUT["request"]["user"]  # the job's index record's key


def test_a_mocked_response_name_that_does_not_exist_is_a_clear_error(config: dict) -> None:
    broken = json.loads(json.dumps(config))
    broken["StateMachines"][MACHINE]["TestCases"]["Broken"] = {"ValidateInput": "NoSuchResponse"}
    with pytest.raises(MockConfigError, match="NoSuchResponse"):
        build_test_case(broken, MACHINE, "Broken")


def test_canary_moto_mock_engine_internals_are_where_the_runner_expects() -> None:
    """Fails loudly when moto is upgraded: re-check the internals mock_config relies on."""
    import inspect

    import moto

    assert moto.__version__ == MOTO_VERSION
    m = _moto()
    assert "mock_test_case" in inspect.signature(m.ExecutionWorker.__init__).parameters
    assert hasattr(m.mock_eval_utils, "_eval_mocked_response_throw")
    assert m.mock_eval_utils.CustomErrorName is m.CustomErrorName
    with pytest.raises(ValueError, match=r"States\."):  # the limitation the runner works around
        m.CustomErrorName("States.TaskFailed")
    assert list(inspect.signature(m.MockedResponseThrow.__init__).parameters) == [
        "self",
        "range_start",
        "range_end",
        "error",
        "cause",
    ]
