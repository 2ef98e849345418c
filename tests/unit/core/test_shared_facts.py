"""Each fact shared by several parts has one definition, and the other sites use it."""

from __future__ import annotations

import json
from pathlib import Path

from aiorch import contracts
from aiorch.contracts import JOBS_FOR_OPERATION, STATE_FOR_JOB
from workflows.definition import DEFINITION_PATH, JOB_TASKS

REPO = Path(__file__).resolve().parents[3]


def asl_states() -> dict:
    return json.loads(DEFINITION_PATH.read_text())["States"]


def test_job_state_names_are_the_asl_file_s_batch_tasks() -> None:
    batch_tasks = [name for name, s in asl_states().items() if "batch:submitJob" in str(s.get("Resource", ""))]
    assert sorted(batch_tasks) == sorted(STATE_FOR_JOB.values())
    assert set(JOB_TASKS) == set(STATE_FOR_JOB.values())


def job_states_run_for(states: dict, operation: str) -> list[str]:
    """The job states one image of ``operation`` passes through, Choice states followed by its operation."""
    name, passed = "ChooseOperation", []
    while name != "RecordResult":
        state = states[name]
        if state["Type"] == "Choice":
            matched = [c["Next"] for c in state["Choices"] if c.get("StringEquals") == operation]
            name = matched[0] if matched else state["Default"]
        else:
            passed.append(name)
            name = state["Next"]
    return passed


def test_each_operation_s_jobs_follow_each_other_in_the_asl_file() -> None:
    states = asl_states()
    for operation, jobs in JOBS_FOR_OPERATION.items():
        assert job_states_run_for(states, operation) == [STATE_FOR_JOB[job] for job in jobs], operation
    # detect_text is inpaint's OCR job alone: the same job state, recorded before LaMa's.
    assert job_states_run_for(states, "detect_text") == ["DetectText"]


def test_validate_input_progress_and_the_fakes_use_the_contracts_table() -> None:
    from aiorch.analysis import progress
    from lambdas.validate_input import validation
    from tests.fakes import handlers

    assert validation.STATE_FOR_JOB is contracts.STATE_FOR_JOB
    assert handlers.STATE_FOR_JOB is contracts.STATE_FOR_JOB
    assert progress.STATE_FOR_JOB is contracts.STATE_FOR_JOB
    assert progress.JOB_FOR_STATE is contracts.JOB_FOR_STATE


def test_validate_input_accepts_the_formats_uploads_accept() -> None:
    from aiorch.analysis import media
    from lambdas.validate_input import validation

    assert set(media.EXTENSIONS) == validation.ALLOWED_FORMATS


def test_the_served_content_types_are_the_uploads_and_the_picker_keeps_none_of_its_own(settings) -> None:
    from aiorch.analysis import media
    from aiorch.operations import served_operations

    accepted = {media.CONTENT_TYPES[ext] for ext in media.EXTENSIONS.values()}
    assert all(set(op.input.content_types) == accepted for op in served_operations(settings))
    picker = (REPO / "frontend" / "src" / "components" / "ImagePicker.vue").read_text()
    assert not any(t in picker for t in accepted), "the picker filters by the served content_types"


def test_the_upload_and_validate_input_read_image_headers_with_one_function() -> None:
    from aiorch.analysis import commands, media
    from lambdas.validate_input import validation

    assert validation.sniff_image is media.sniff_image
    assert commands.sniff_image is media.sniff_image


def test_the_option_schema_is_the_one_every_checker_calls() -> None:
    from aiorch import operations
    from aiorch.analysis import commands
    from jobs import arguments
    from lambdas.validate_input import validation

    assert validation.check_options is operations.check_options
    assert commands.check_options is operations.check_options
    assert arguments.check_options is operations.check_options
    assert arguments.OUTPUT_OPTIONS is operations.OUTPUT_OPTIONS


def test_the_local_issuer_key_is_written_by_the_storage_create_if_absent(tmp_path, monkeypatch) -> None:
    from aiorch.storage.local import LocalStorage
    from lambdas.api import auth

    written: list[str] = []
    original = LocalStorage.put_if_absent

    def spy(self, key, data, content_type=None):
        written.append(key)
        return original(self, key, data, content_type)

    monkeypatch.setattr(LocalStorage, "put_if_absent", spy)
    target = tmp_path / "auth" / "key.pem"
    assert auth.write_private_file(target, b"first") is True
    assert auth.write_private_file(target, b"second") is False  # the first one is kept
    assert written == ["key.pem", "key.pem"] and target.read_bytes() == b"first"
    assert target.stat().st_mode & 0o777 == 0o600


def test_the_service_and_the_watchdog_build_execution_arns_with_the_core_formula(settings) -> None:
    from aiorch.analysis import queries, service
    from aiorch.contracts import ExecutionRecord
    from aiorch.states import execution_arn
    from workflows.local import watchdog

    assert queries.execution_arn is execution_arn
    assert watchdog.execution_arn is execution_arn
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:aiorch"
    assert execution_arn(machine, "01J") == "arn:aws:states:us-east-1:123456789012:execution:aiorch:01J"
    assert service.AnalysisService(settings, states_client=object()).execution_arn("01J") == execution_arn(
        settings.resolved_state_machine_arn, "01J"
    )
    record = ExecutionRecord.model_validate(
        {
            "execution_id": "01J",
            "user": "alice",
            "operation": "upscale",
            "input_key": "uploads/alice/u/original.png",
            "created_at": "2026-12-01T00:00:00Z",
        }
    )
    event = watchdog.interrupted_event(record, settings)
    assert event["detail"]["executionArn"] == execution_arn(settings.resolved_state_machine_arn, "01J")
