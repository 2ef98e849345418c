"""Fake Lambda handlers with the real contracts (event in, ValidatedRequest out, index finalised).

``options`` in the request steer the fake: ``{"invalid": "why"}`` makes
ValidateInput raise ``InvalidRequest``; the rest is passed to the fake jobs.
"""

from __future__ import annotations

import json
from typing import Any

from aiorch import keys
from aiorch.contracts import (
    JOBS_FOR_OPERATION,
    STATE_FOR_JOB,
    ExecutionStatus,
    JobSpec,
    Operation,
    Outcome,
    ValidatedRequest,
)
from aiorch.index import ExecutionIndex, open_index
from aiorch.settings import get_settings
from aiorch.storage import open_app_storage
from tests.fakes import record_call


class InvalidRequest(Exception):
    """The same class name as the real ValidateInput's error: the task's Error is the class name."""


def _index() -> ExecutionIndex:
    return open_index(get_settings(), open_app_storage(get_settings()))


def _storage_uri(key: str) -> str:
    root = get_settings().resolved_storage_url.removeprefix("file://")
    return f"file://{root}/{key}"


def validate_input(event: dict[str, Any], context: Any) -> dict[str, Any]:
    record_call("validate_input", event=event)
    request = event["request"]
    options = request.get("options", {})
    if options.get("invalid"):
        raise InvalidRequest(options["invalid"])
    if request["operation"] not in set(Operation):
        raise InvalidRequest(f"unknown operation {request['operation']!r}")
    operation = Operation(request["operation"])
    jobs = {}
    for kind in JOBS_FOR_OPERATION[operation]:
        prefix = keys.result_prefix(request["user"], request["execution_id"], kind.value)
        command = [kind.value, "--input", _storage_uri(request["input_key"]), "--output", _storage_uri(prefix)]
        command += ["--options", json.dumps(options)]
        name = f"{kind.value}-{request['execution_id']}".replace("-", "_")
        jobs[STATE_FOR_JOB[kind]] = JobSpec(kind=kind, name=name, output_prefix=prefix, command=command)
    validated = ValidatedRequest(
        operation=operation, input_key=request["input_key"], width=1, height=1, bytes=0, format="fake", jobs=jobs
    )
    return validated.model_dump(mode="json")


def record_result(event: dict[str, Any], context: Any) -> dict[str, Any]:
    record_call("record_result", event=event)
    request = event["input"]["request"]
    _index().finalise(
        request["user"], request["execution_id"], Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="RecordResult")
    )
    return {"recorded": True}


def record_failure(event: dict[str, Any], context: Any) -> dict[str, Any]:
    record_call("record_failure", event=event)
    state = event["input"]
    request = state["request"]
    error = state.get("error", {})
    _index().finalise(
        request["user"],
        request["execution_id"],
        Outcome(
            status=ExecutionStatus.FAILED,
            recorded_by="RecordFailure",
            error_type=error.get("Error"),
            error_message=error.get("Cause"),
        ),
    )
    return {"recorded": True}


def status_change(event: dict[str, Any], context: Any) -> None:
    record_call("status_change", event=event)
    detail = event["detail"]
    for record in _index().running():
        if record.execution_id == detail["name"]:
            _index().finalise(
                record.user,
                record.execution_id,
                Outcome(
                    status=ExecutionStatus(detail["status"]),
                    recorded_by="StatusChange",  # as lambdas/status_change/handler.py records it
                    error_type=detail.get("error"),
                    error_message=detail.get("cause"),
                ),
            )
