"""RecordFailure: finalise a failed execution with the reason in plain words.

A failed Batch job reaches the Catch as ``States.TaskFailed`` whose cause is
the DescribeJobs JSON, so the user-facing reason comes from the job's own
``error.json`` in storage; a job that ended without one (killed, out of memory)
is recorded from what its description knows (aiorch.job_exit); other failures
use the Catch's error and cause.
"""

from __future__ import annotations

from typing import Any

from aiorch.contracts import ExecutionStatus
from aiorch.index import open_index
from aiorch.index.stages import RECORDING, note_stage
from aiorch.settings import get_settings
from aiorch.storage import Storage
from lambdas.outcome import OutcomeEvent
from lambdas.records import (
    ended_job_failure,
    ensure_record,
    find_job_error,
    plain_error,
    record_outcome,
    recorder_handler,
)


def record_failure(event: OutcomeEvent, storage: Storage) -> dict[str, Any]:
    request = event.input.request
    index = open_index(get_settings(), storage)
    ensure_record(index, request, event.execution_arn)
    note_stage(index, request.user, request.execution_id, "RecordFailure", RECORDING)

    error_type, message = plain_error(event.input.error)
    job_error = find_job_error(storage, request) if event.input.validated else None
    ended = ended_job_failure(event.input.error) if event.input.validated else None
    if job_error is not None:
        error_type, message = job_error.type, f"{job_error.job}: {job_error.message}"
    elif ended is not None:  # killed, out of memory...: the job could not say why, Batch's description does
        error_type, message = ended

    record_outcome(
        storage,
        request,
        ExecutionStatus.FAILED,
        recorded_by="RecordFailure",
        started_at=event.started_at,
        error_type=error_type,
        error_message=message,
    )
    return {"status": ExecutionStatus.FAILED.value, "error_type": error_type, "message": message}


handler = recorder_handler(record_failure, metric="ExecutionFailed", message="failure recorded")
