"""RecordResult: finalise a successful execution (index entry + analytics row).

A batch is recorded image by image: each image's result, or why it failed (ValidateInput refused it,
its job wrote its error.json, or its job ended first), one analytics row each. The batch succeeds when
any image did; when none did it is recorded FAILED and RecordResult fails, so the execution does too.
"""

from __future__ import annotations

from typing import Any

from aiorch import keys
from aiorch.analysis.views import thumbnail_named_in
from aiorch.contracts import ExecutionStatus, ImageOutcome, JobError, RecordedThumbnail
from aiorch.index import open_index
from aiorch.index.stages import RECORDING, note_stage
from aiorch.settings import get_settings
from aiorch.storage import NotFound, Storage
from lambdas.outcome import OutcomeEvent
from lambdas.records import ensure_record, job_kinds, read_job_metadata, record_outcome, recorder_handler


class ResultMissing(Exception):
    """The last job exited 0 but left no result file: treated as a failure, never as success."""


class BatchFailed(Exception):
    """No image of the batch succeeded (each one's reason is in the record)."""


def record_result(event: OutcomeEvent, storage: Storage) -> dict[str, Any]:
    request = event.input.request
    index = open_index(get_settings(), storage)
    ensure_record(index, request, event.execution_arn)
    note_stage(index, request.user, request.execution_id, "RecordResult", RECORDING)
    if request.is_batch:
        return record_batch(event, storage)

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


def image_outcome(storage: Storage, event: OutcomeEvent, index: int, refused: str | None) -> ImageOutcome:
    """How image ``index`` of the batch ended, from what its jobs left under its own prefixes."""
    request = event.input.request
    input_key = request.input_keys[index]
    if refused is not None:
        return ImageOutcome(
            index=index,
            input_key=input_key,
            status=ExecutionStatus.FAILED,
            error_type="InvalidRequest",
            error_message=refused,
        )
    kinds = job_kinds(request.operation)
    prefixes = [keys.batch_image_prefix(request.user, request.execution_id, kind, index) for kind in kinds]
    results = [k for k in storage.list(prefixes[-1]) if k.rsplit("/", 1)[-1].startswith("result.")]
    if results:
        metadata = [p + "metadata.json" for p in prefixes if storage.exists(p + "metadata.json")]
        return ImageOutcome(
            index=index,
            input_key=input_key,
            status=ExecutionStatus.SUCCEEDED,
            result_keys=results,
            metadata_keys=metadata,
            thumbnail=thumbnail_of(storage, results[0], prefixes[-1] + "metadata.json"),
            thumbnail_recorded=True,
        )
    for kind, prefix in reversed(list(zip(kinds, prefixes, strict=True))):
        try:
            error = JobError.model_validate(storage.get_json(prefix + "error.json"))
        except (NotFound, ValueError):
            continue
        return ImageOutcome(
            index=index,
            input_key=input_key,
            status=ExecutionStatus.FAILED,
            error_type=error.type,
            error_message=f"{error.job or kind}: {error.message}",
        )
    return ImageOutcome(
        index=index,
        input_key=input_key,
        status=ExecutionStatus.FAILED,
        error_type="JobEnded",
        error_message=f"the {kinds[-1]} job of its chunk ended before this image was done (see the chunk's job log)",
    )


def thumbnail_of(storage: Storage, result_key: str, metadata_key: str) -> RecordedThumbnail | None:
    """The thumbnail the image's last job named in its metadata.json (as the view finds it), kept in
    its outcome so that each poll of the batch's view need not read that metadata.json again."""
    try:
        metadata = storage.get_json(metadata_key)
    except (NotFound, ValueError):
        return None
    link = thumbnail_named_in(result_key, metadata)
    return RecordedThumbnail(key=link.key, width=link.width, height=link.height) if link else None


def record_batch(event: OutcomeEvent, storage: Storage) -> dict[str, Any]:
    request, validated = event.input.request, event.input.validated
    refused = {r.index: r.message for r in (validated.rejected if validated else [])}
    outcomes = [image_outcome(storage, event, i, refused.get(i)) for i in range(len(request.input_keys))]
    succeeded = [o for o in outcomes if o.status is ExecutionStatus.SUCCEEDED]
    failed = [o for o in outcomes if o.status is not ExecutionStatus.SUCCEEDED]
    summary = None
    if not succeeded:
        summary = (
            f"none of the {len(outcomes)} images succeeded; image {failed[0].index + 1}: {failed[0].error_message}"
        )
    record_outcome(
        storage,
        request,
        ExecutionStatus.SUCCEEDED if succeeded else ExecutionStatus.FAILED,
        recorded_by="RecordResult",
        started_at=event.started_at,
        result_keys=[k for o in succeeded for k in o.result_keys],
        metadata_keys=[k for o in succeeded for k in o.metadata_keys],
        images=outcomes,
        error_type=None if succeeded else failed[0].error_type,
        error_message=summary,
    )
    if summary is not None:
        raise BatchFailed(summary)
    return {"status": ExecutionStatus.SUCCEEDED.value, "images": len(outcomes), "failed": len(failed)}
