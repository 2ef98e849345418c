"""The execution-status-change handler (EventBridge in AWS, the watchdog locally).

Executions that end outside the state machine's own path (stopped, timed out,
failed where RecordFailure could not run, or interrupted by a dead local
service) still get their index entry finalised and their analytics row.

The event's ``input`` names the request. When it is missing (an event built
after the service forgot the execution), the RUNNING index record of that
execution id stands in for it: the index knows who started what.

No model job outlives its execution: a stopped, timed-out or failed execution can leave a Batch
job SUBMITTED or RUNNABLE (waiting for a GPU host) to start later and burn GPU time for nobody.
The handler terminates every unfinished job of the execution in the job queue
(``settings.batch_job_queue``); locally that setting is unset and the local service's watchdog
stops local jobs itself.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import envelopes, parse
from pydantic import BaseModel, ValidationError

from aiorch.analytics.compaction import compact_closed_days
from aiorch.contracts import AnalysisRequest, ExecutionStatus
from aiorch.index import ExecutionIndex, open_index
from aiorch.index.stages import note_job_stage
from aiorch.settings import get_settings
from aiorch.storage import Storage
from lambdas.powertools import lambda_entry, logger, metrics
from lambdas.records import (
    app_storage,
    ensure_record,
    find_job_error,
    parse_time,
    plain_error,
    record_outcome,
)

HANDLED = {
    ExecutionStatus.FAILED,
    ExecutionStatus.TIMED_OUT,
    ExecutionStatus.ABORTED,
    ExecutionStatus.INTERRUPTED,
}

DEFAULT_MESSAGES = {
    ExecutionStatus.ABORTED: "the execution was stopped",
    ExecutionStatus.TIMED_OUT: "the execution took longer than its time limit",
    ExecutionStatus.INTERRUPTED: "the local states service stopped while the execution was running",
}


class StatusChangeDetail(BaseModel):
    """The ``detail`` of Step Functions' "Execution Status Change" event."""

    executionArn: str
    status: str
    name: str | None = None
    input: str | dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    startDate: Any = None
    stopDate: Any = None

    @property
    def execution_id(self) -> str:
        return self.name or self.executionArn.rsplit(":", 1)[-1]


def request_of(detail: StatusChangeDetail, index: ExecutionIndex) -> AnalysisRequest | None:
    """The analysis request behind the event: from its input, else from the RUNNING index record."""
    raw_input = json.loads(detail.input) if isinstance(detail.input, str) else detail.input
    if raw_input:
        try:
            return AnalysisRequest.model_validate((raw_input or {}).get("request"))
        except ValidationError:
            return None
    for record in index.running():  # a status index: running records only, never the whole history
        if record.execution_id == detail.execution_id:
            return AnalysisRequest.model_validate(record.model_dump(include=set(AnalysisRequest.model_fields)))
    return None


def record_status_change(
    detail: StatusChangeDetail, storage: Storage, index: ExecutionIndex | None = None
) -> dict[str, Any]:
    try:
        status = ExecutionStatus(detail.status)
    except ValueError:
        return {"recorded": False, "reason": f"status {detail.status} is not recorded here"}
    if status not in HANDLED:
        return {"recorded": False, "reason": f"status {status} is recorded by the state machine"}
    index = index or open_index(get_settings(), storage)
    request = request_of(detail, index)
    if request is None:
        return {"recorded": False, "reason": "the execution's input is not an analysis request"}

    ensure_record(index, request, detail.executionArn)
    error_type, message = (
        plain_error({"Error": detail.error, "Cause": detail.cause})
        if detail.error or detail.cause
        else (status.value, DEFAULT_MESSAGES.get(status, "the execution failed"))
    )
    job_error = find_job_error(storage, request)
    if job_error is not None and status is ExecutionStatus.FAILED:
        error_type, message = job_error.type, f"{job_error.job}: {job_error.message}"
    if status in DEFAULT_MESSAGES and not detail.cause:
        message = DEFAULT_MESSAGES[status]

    record, changed = record_outcome(
        storage,
        request,
        status,
        recorded_by="StatusChange",
        started_at=parse_time(detail.startDate),
        finished_at=parse_time(detail.stopDate),
        error_type=error_type,
        error_message=message,
        only_if_changed=True,
    )
    if not changed:
        return {"recorded": False, "reason": "already recorded", "status": record.status if record else None}
    return {"recorded": True, "status": status.value, "error_type": error_type, "message": message}


# Batch's job states before an end (SUCCEEDED, FAILED): "Job states", AWS Batch User Guide,
# https://docs.aws.amazon.com/batch/latest/userguide/job_states.html
UNFINISHED_JOB_STATES = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"})


def job_name_prefix(execution_id: str) -> str:
    """Every job of an execution is named ``<execution id>-<job>[-<chunk>]`` (ValidateInput's JobSpec
    names, lambdas/validate_input/validation.py), and the state machine submits it under that name."""
    return f"{execution_id}-"


def end_jobs_of(execution_id: str, job_queue: str, batch: Any, *, reason: str) -> list[str]:
    """Terminate the execution's unfinished Batch jobs; returns their ids.

    ListJobs with a ``JOB_NAME`` filter: a value ending in ``*`` matches the names that begin with
    the rest, case-insensitively, and with a filter the jobs of every status are listed (jobStatus is
    ignored). TerminateJob cancels a job that has not reached STARTING and stops one that has; a job
    that already ended is left alone. AWS Batch API Reference: "ListJobs" (filters)
    https://docs.aws.amazon.com/batch/latest/APIReference/API_ListJobs.html and "TerminateJob"
    https://docs.aws.amazon.com/batch/latest/APIReference/API_TerminateJob.html
    """
    prefix = job_name_prefix(execution_id)
    ended: list[str] = []
    pages = batch.get_paginator("list_jobs").paginate(
        jobQueue=job_queue, filters=[{"name": "JOB_NAME", "values": [f"{prefix}*"]}]
    )
    for page in pages:
        for job in page.get("jobSummaryList", []):
            # The filter ignores case; execution ids are ULIDs, but keep exactly this execution's jobs.
            if job.get("status") in UNFINISHED_JOB_STATES and str(job.get("jobName", "")).startswith(prefix):
                batch.terminate_job(jobId=job["jobId"], reason=reason)
                ended.append(job["jobId"])
    return ended


def batch_client(region: str) -> Any:
    import boto3

    return boto3.client("batch", region_name=region)


def end_jobs_of_ended_execution(detail: StatusChangeDetail, batch: Any | None = None) -> dict[str, Any]:
    """For an execution that ended outside its own path: end its jobs in the Batch queue (AWS only)."""
    try:
        status = ExecutionStatus(detail.status)
    except ValueError:
        return {"ended_jobs": []}
    settings = get_settings()
    if status not in HANDLED or not settings.batch_job_queue:
        return {"ended_jobs": []}  # locally: no queue; the watchdog stops the local jobs
    reason = f"execution {detail.execution_id} ended {status.value}"
    ended = end_jobs_of(
        detail.execution_id,
        settings.batch_job_queue,
        batch or batch_client(settings.aws_region),
        reason=reason,
    )
    if ended:
        logger.info("ended the jobs of an ended execution", extra={"job_ids": ended, "status": status.value})
    return {"ended_jobs": ended}


def compact_analytics(storage: Storage) -> dict[str, Any]:
    """The same schedule folds the closed days' analytics rows into one file per day, so Athena
    lists and opens a few objects per day instead of one per execution."""
    done = compact_closed_days(storage, datetime.now(UTC).date())
    return {"compacted": {"folders": done.folders, "files_in": done.files_in, "rows_out": done.rows_out}}


def sweep_running_counts(index: ExecutionIndex) -> dict[str, Any]:
    """The periodic sweep (an EventBridge schedule in AWS, the watchdog locally): recompute each
    user's running count from the RUNNING records and correct any drift (logged by the index)."""
    drift = index.sweep()
    return {"swept": True, "corrected": [{"user": d.user, "counted": d.counted, "actual": d.actual} for d in drift]}


def record_job_stage(detail: dict[str, Any], index: ExecutionIndex) -> dict[str, Any]:
    """A Batch "Job State Change" (EventBridge): the job's status becomes its execution's stage in the
    index ("queued for a GPU", "running upscale"), so a status poll needs no Step Functions read API.
    The job carries its execution's ARN and user in the environment the ASL gives it."""
    container = detail.get("container") or {}
    environment = {
        str(e.get("name")): str(e.get("value", "")) for e in container.get("environment") or [] if isinstance(e, dict)
    }
    status = str(detail.get("status", ""))
    written = note_job_stage(index, environment, list(container.get("command") or []), status)
    return {"job": detail.get("jobName"), "job_status": status, "stage_written": written}


@lambda_entry
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        result = sweep_running_counts(open_index(get_settings())) | compact_analytics(app_storage())
        logger.info("running counts swept, analytics compacted", extra={"outcome": result})
        return result
    if event.get("source") == "aws.batch" and event.get("detail-type") == "Batch Job State Change":
        result = record_job_stage(event.get("detail") or {}, open_index(get_settings()))
        logger.info("job state change", extra={"outcome": result})
        return result
    detail = parse(event=event, model=StatusChangeDetail, envelope=envelopes.EventBridgeEnvelope)
    if not isinstance(detail, StatusChangeDetail):  # an event with no detail at all
        raise ValueError("not a Step Functions status-change event: it has no detail")
    logger.append_keys(execution_id=detail.execution_id)
    # First the jobs (idempotent: an ended job is skipped), so a failure below still leaves no job
    # running; an error here fails the invocation and EventBridge's retries (then the DLQ) keep it.
    ended = end_jobs_of_ended_execution(detail)
    result = record_status_change(detail, app_storage()) | ended
    if result.get("recorded"):
        metrics.add_metric(name=f"Execution{result['status'].title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.info("status change", extra={"outcome": result})
    return result
