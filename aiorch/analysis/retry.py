"""One-click retry: a failed, aborted, timed-out or interrupted execution started again with the same
inputs and options, as a new execution linked both ways. The new record says ``retry_of``; the old
one's retries are kept beside its results (``results/{user}/{id}/retry/retried_by.json``, deleted
with it) and read only for an execution that could have been retried, so a poll of a running or
succeeded one reads nothing more. A batch retries only its images that did not succeed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiorch import keys
from aiorch.analysis.errors import StillRunning
from aiorch.contracts import ExecutionRecord, ExecutionStatus
from aiorch.storage import NotFound, Storage

if TYPE_CHECKING:
    from aiorch.analysis.service import AnalysisService


def retried_by_key(user: str, execution_id: str) -> str:
    return keys.result_prefix(user, execution_id, "retry") + "retried_by.json"


def may_have_retries(record: ExecutionRecord) -> bool:
    """Only an ended execution with something that did not succeed can have been retried."""
    if not record.status.is_final:
        return False
    if record.status is not ExecutionStatus.SUCCEEDED:
        return True
    return any(image.status is not ExecutionStatus.SUCCEEDED for image in record.images)


def retried_by(storage: Storage, record: ExecutionRecord) -> list[str]:
    if not may_have_retries(record):
        return []
    try:
        value = storage.get_json(retried_by_key(record.user, record.execution_id))
    except (NotFound, ValueError):
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def images_to_retry(record: ExecutionRecord) -> list[str]:
    """A batch's images that did not succeed (all of them when the batch failed before any outcome)."""
    done = {image.index for image in record.images if image.status is ExecutionStatus.SUCCEEDED}
    return [key for index, key in enumerate(record.input_keys) if index not in done]


def retry(service: AnalysisService, user: str, execution_id: str) -> ExecutionRecord:
    """Start the execution again (the same operation, inputs and options); returns the new record."""
    old = service.index.get(user, execution_id)
    if old is None:
        from aiorch.analysis.errors import NotFoundError

        raise NotFoundError(f"no execution {execution_id!r}")
    if not old.status.is_final:
        raise StillRunning(f"execution {execution_id} is still running: only an ended one is retried")
    if not may_have_retries(old):
        raise StillRunning(f"execution {execution_id} succeeded: there is nothing to retry")
    if old.input_keys:
        new = service.submit(
            user, old.operation, None, None, dict(old.options), upload_keys=images_to_retry(old), retry_of=execution_id
        )
    else:
        new = service.submit(user, old.operation, old.input_key, old.mask_key, dict(old.options), retry_of=execution_id)
    link = retried_by_key(user, execution_id)
    service.storage.put_json(link, [*retried_by(service.storage, old), new.execution_id])
    return new
