"""What RecordResult, RecordFailure and the status-change handler share:
turning an execution's outcome into the execution index entry and one analytics row."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse

from aiorch import keys
from aiorch.contracts import (
    JOBS_FOR_OPERATION,
    AnalysisRequest,
    ExecutionRecord,
    ExecutionStatus,
    ImageOutcome,
    JobError,
    Operation,
    Outcome,
    RunCost,
    utcnow,
)
from aiorch.index import ExecutionIndex, open_index
from aiorch.job_exit import batch_job_failure, batch_job_kind
from aiorch.pricing import sum_costs
from aiorch.settings import Settings, get_settings
from aiorch.storage import NotFound, Storage, open_app_storage
from lambdas.outcome import OutcomeEvent
from lambdas.powertools import lambda_entry, logger, metrics

Recorder = Callable[[OutcomeEvent, Storage], dict[str, Any]]


def app_storage(settings: Settings | None = None) -> Storage:
    return open_app_storage(settings or get_settings())


def parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):  # EventBridge/boto give epoch millis or seconds
        from datetime import UTC

        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    text = str(value).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def job_kinds(operation: str) -> list[str]:
    try:
        return [k.value for k in JOBS_FOR_OPERATION[Operation(operation)]]
    except ValueError:
        return []


def read_job_metadata(storage: Storage, request: AnalysisRequest) -> dict[str, dict[str, Any]]:
    """metadata.json of each job that wrote one, by job kind."""
    found: dict[str, dict[str, Any]] = {}
    for kind in job_kinds(request.operation):
        key = keys.result_prefix(request.user, request.execution_id, kind) + "metadata.json"
        try:
            found[kind] = storage.get_json(key)
        except (NotFound, ValueError):
            continue
    return found


def find_job_error(storage: Storage, request: AnalysisRequest) -> JobError | None:
    """The error.json of the job that failed (the last one that wrote one)."""
    for kind in reversed(job_kinds(request.operation)):
        key = keys.result_prefix(request.user, request.execution_id, kind) + "error.json"
        try:
            error = JobError.model_validate(storage.get_json(key))
        except (NotFound, ValueError):
            continue
        error.job = error.job or kind
        return error
    return None


def plain_error(error: dict[str, Any] | None) -> tuple[str, str]:
    """(type, message) from a Step Functions {Error, Cause}; Lambda causes are JSON with errorMessage."""
    if not error:
        return "Unknown", "the execution failed without an error message"
    err_type = str(error.get("Error") or "Unknown")
    cause = error.get("Cause")
    message = str(cause or err_type)
    if isinstance(cause, str) and cause.startswith("{"):
        try:
            parsed = json.loads(cause)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            if parsed.get("errorMessage"):
                message = str(parsed["errorMessage"])
            elif parsed.get("StatusReason") or parsed.get("statusReason"):
                message = str(parsed.get("StatusReason") or parsed.get("statusReason"))
    return err_type, message[:1000]


def ended_job_failure(error: dict[str, Any] | None) -> tuple[str, str] | None:
    """(type, message) for a Batch task whose job ended without error.json: the cause of a failed
    ``.sync`` job is its DescribeJobs JSON, and what it knows (Batch's statusReason, the container's
    reason and exit code; locally the signal and the cgroup's out-of-memory count) is all there is.
    None when the cause is not a job description."""
    cause = (error or {}).get("Cause")
    if not isinstance(cause, str) or not cause.startswith("{"):
        return None
    try:
        job = json.loads(cause)
    except ValueError:
        return None
    if not isinstance(job, dict) or (ended := batch_job_failure(job)) is None:
        return None
    error_type, message = ended
    kind = batch_job_kind(job)
    return error_type, (f"{kind}: {message}" if kind else message)[:1000]


def ensure_record(index: ExecutionIndex, request: AnalysisRequest, execution_arn: str | None) -> None:
    """Executions started outside the API/CLI (e.g. straight from the console) still get an index entry."""
    if index.get(request.user, request.execution_id) is None:
        index.create(ExecutionRecord(**request.model_dump(), execution_arn=execution_arn))


def write_analytics(
    storage: Storage,
    request: AnalysisRequest,
    status: ExecutionStatus,
    *,
    started_at: datetime | None,
    finished_at: datetime | None = None,
    metadata: dict[str, dict[str, Any]] | None = None,
    error_type: str | None = None,
    settings: Settings | None = None,
    name: str | None = None,
    cost: RunCost | None = None,
) -> str:
    """One analytics row per execution, whatever its end (overwritten, never duplicated); a batch
    writes one per image, each under its own ``name``."""
    from aiorch.analytics.records import RunFacts, row_for, write_row

    facts = RunFacts(
        execution_id=request.execution_id,
        user=request.user,
        operation=request.operation,
        status=status.value,
        job_kinds=job_kinds(request.operation),
        metadata=metadata or {},
        started_at=started_at,
        finished_at=finished_at or utcnow(),
        error_type=error_type,
        cost_usd=None if cost is None else cost.usd,
    )
    return write_row(storage, row_for(facts, settings or get_settings()), name=name)


def batch_image_metadata(storage: Storage, request: AnalysisRequest, index: int) -> dict[str, dict[str, Any]]:
    """metadata.json of each job that wrote one for image ``index`` of a batch, by job kind."""
    found: dict[str, dict[str, Any]] = {}
    for kind in job_kinds(request.operation):
        try:
            found[kind] = storage.get_json(
                keys.batch_image_prefix(request.user, request.execution_id, kind, index) + "metadata.json"
            )
        except (NotFound, ValueError):
            continue
    return found


def write_batch_analytics(
    storage: Storage,
    request: AnalysisRequest,
    outcomes: list[ImageOutcome] | None,
    *,
    error_type: str | None,
    started_at: datetime | None,
    finished_at: datetime | None,
) -> list[str]:
    """One row per image of a batch: its own status, sizes and job times (an image without an outcome,
    the batch having failed as a whole, is a failure of the batch's error type)."""
    by_index = {o.index: o for o in outcomes or []}
    written = []
    for index in range(len(request.input_keys)):
        outcome = by_index.get(index)
        metadata = batch_image_metadata(storage, request, index)
        written.append(
            write_analytics(
                storage,
                request,
                outcome.status if outcome else ExecutionStatus.FAILED,
                started_at=started_at,
                finished_at=finished_at,
                metadata=metadata,
                error_type=outcome.error_type if outcome else error_type,
                name=f"{request.execution_id}-{index:03d}",
                cost=sum_costs(job_costs(metadata)),
            )
        )
    return written


def job_costs(metadata: dict[str, dict[str, Any]]) -> list[RunCost]:
    """The cost each job recorded in its metadata.json (jobs/metadata.py), in job order; a job that wrote
    no cost (it failed before its metadata, or ran before costs were kept) adds nothing."""
    costs = []
    for meta in metadata.values():
        try:
            costs.append(RunCost.model_validate(meta["cost"]))
        except (KeyError, TypeError, ValueError):
            continue
    return costs


def run_cost_of(storage: Storage, request: AnalysisRequest) -> RunCost | None:
    """The run's cost: its jobs' recorded costs summed (a batch: over every image's jobs)."""
    if request.is_batch:
        per_image = [job_costs(batch_image_metadata(storage, request, i)) for i in range(len(request.input_keys))]
        return sum_costs([cost for costs in per_image for cost in costs])
    return sum_costs(job_costs(read_job_metadata(storage, request)))


def record_outcome(
    storage: Storage,
    request: AnalysisRequest,
    status: ExecutionStatus,
    *,
    recorded_by: str,
    started_at: datetime | None,
    finished_at: datetime | None = None,
    error_type: str | None = None,
    error_message: str | None = None,
    result_keys: list[str] | None = None,
    metadata_keys: list[str] | None = None,
    images: list[ImageOutcome] | None = None,
    only_if_changed: bool = False,
) -> tuple[ExecutionRecord | None, bool]:
    """Finalise the index entry, then write the execution's analytics row.

    The first recorder wins. With ``only_if_changed`` (the status-change handler) an
    execution that the state machine already recorded keeps its entry and its row.
    """
    finished_at = finished_at or utcnow()
    cost = run_cost_of(storage, request)
    outcome = Outcome(
        status=status,
        recorded_by=recorded_by,
        result_keys=result_keys,
        metadata_keys=metadata_keys,
        error_type=error_type,
        error_message=error_message,
        images=images,
        cost=cost,
    )
    record, changed = open_index(get_settings(), storage).finalise(request.user, request.execution_id, outcome)
    if changed and record is not None:  # its webhook's `completed` (aiorch/webhooks.py): never raises
        from aiorch.webhooks import on_recorded

        on_recorded(get_settings(), storage, record)
    # A repeated recorder (Lambda retry) rewrites its own row; it never overwrites a
    # row of a different outcome recorded first.
    same_outcome = record is not None and record.status is status
    if (changed or (same_outcome and not only_if_changed)) and request.is_batch:
        write_batch_analytics(
            storage,
            request,
            record.images if record is not None and record.images else images,
            error_type=error_type,
            started_at=started_at,
            finished_at=finished_at,
        )
    elif changed or (same_outcome and not only_if_changed):
        write_analytics(
            storage,
            request,
            status,
            started_at=started_at,
            finished_at=finished_at,
            metadata=read_job_metadata(storage, request),
            error_type=error_type,
            cost=cost,
        )
    return record, changed


def recorder_handler(record: Recorder, metric: str, message: str) -> Callable[[dict[str, Any], Any], Any]:
    """The Lambda handler of a recorder (RecordResult, RecordFailure): one body for both.

    The event is parsed with powertools' parser into ``OutcomeEvent``; ``record`` does the work on the
    application storage; one ``metric`` is counted and the outcome logged with ``message``.
    """

    @lambda_entry
    def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        outcome = parse(event=event, model=OutcomeEvent)
        logger.append_keys(execution_id=outcome.input.request.execution_id)
        result = record(outcome, app_storage())
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        logger.info(message, extra={"outcome": result})
        return result

    handler.recorder = record  # type: ignore[attr-defined]  # which recorder runs (the unit test reads it)
    return handler
