"""RecordResult: finalise a successful execution (index entry + analytics row)."""

from __future__ import annotations

from typing import Any

from aiorch import keys
from aiorch.contracts import ExecutionStatus
from aiorch.index import open_index
from aiorch.settings import get_settings
from aiorch.storage import Storage
from lambdas.outcome import OutcomeEvent
from lambdas.records import ensure_record, job_kinds, read_job_metadata, record_outcome, recorder_handler


class ResultMissing(Exception):
    """The last job exited 0 but left no result file: treated as a failure, never as success."""


def record_result(event: OutcomeEvent, storage: Storage) -> dict[str, Any]:
    request = event.input.request
    index = open_index(get_settings(), storage)
    ensure_record(index, request, event.execution_arn)

    kinds = job_kinds(request.operation)
    final_prefix = keys.result_prefix(request.user, request.execution_id, kinds[-1])
    results = [k for k in storage.list(final_prefix) if k.rsplit("/", 1)[-1].startswith("result.")]
    if not results:
        raise ResultMissing(f"the {kinds[-1]} job finished but wrote no result under {final_prefix}")
    metadata = read_job_metadata(storage, request)
    metadata_keys = [keys.result_prefix(request.user, request.execution_id, k) + "metadata.json" for k in metadata]

    record_outcome(
        storage,
        request,
        ExecutionStatus.SUCCEEDED,
        recorded_by="RecordResult",
        started_at=event.started_at,
        result_keys=results,
        metadata_keys=metadata_keys,
    )
    return {"status": ExecutionStatus.SUCCEEDED.value, "result_key": results[0]}


handler = recorder_handler(record_result, metric="ExecutionSucceeded", message="execution recorded")
