"""The commands of the application service: what changes things (uploads, submit, cancel,
delete). Submit writes the index entry first (create-if-absent, so an Idempotency-Key maps to one
execution) and then starts Step Functions through a plain boto3 client: the local states service
locally, AWS in AWS. A cancel answers with the execution's view, so the commands build on the
queries (aiorch/analysis/queries.py).
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import sqlite3
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from aiorch import keys
from aiorch.analysis.errors import (
    BadRequest,
    BudgetSpent,
    IdempotencyConflict,
    NotFoundError,
    QueueFull,
    StatesUnavailable,
    StillRunning,
    StorageFull,
    TooManyRunning,
    Unprocessable,
)
from aiorch.analysis.media import EXTENSIONS, content_type_for, sniff_image
from aiorch.analysis.names import original_name_key, sanitise_name
from aiorch.analysis.queries import AnalysisQueries
from aiorch.analysis.views import (
    ExecutionView,
    UploadInfo,
)
from aiorch.contracts import (
    AnalysisRequest,
    ExecutionRecord,
    ExecutionStatus,
    Operation,
    Outcome,
    offered_operations_in_words,
    utcnow,
)
from aiorch.fields import key_problem
from aiorch.ids import new_id
from aiorch.index import Budget, IdempotencyKeyReused, QueueBounds, RunningLimitReached
from aiorch.index import BudgetSpent as IndexBudgetSpent
from aiorch.index import QueueFull as IndexQueueFull
from aiorch.index import StillRunning as IndexStillRunning
from aiorch.index.stages import QUEUED_TO_VALIDATE
from aiorch.operations import OptionError, check_options
from aiorch.pricing import estimate_usd, month_of, month_resets_at, usd_words
from aiorch.weights import not_installed_problem


def _not_sent(request: AnalysisRequest) -> set[str] | None:
    """What a one-image request leaves out of the state machine's input (it travels as it always has)."""
    return None if request.is_batch else {"input_keys"}


class AnalysisCommands(AnalysisQueries):
    """The writes of ``AnalysisService``."""

    # --- uploads ----------------------------------------------------------------------
    def store_upload(
        self, user: str, data: bytes, content_type: str | None = None, original_name: str | None = None
    ) -> UploadInfo:
        if not data:
            raise BadRequest("the upload is empty")
        if len(data) > self.settings.upload_max_bytes:
            raise BadRequest(
                f"the upload is {len(data) / 1e6:.1f} MB; the limit is {self.settings.upload_max_bytes / 1e6:.0f} MB"
            )
        fmt, width, height = sniff_image(data, max(self.settings.max_pixels(op) for op in Operation))
        if fmt not in EXTENSIONS:
            raise BadRequest(f"{fmt} images are not accepted: use PNG, JPEG, WebP, TIFF or BMP")
        key = keys.upload_key(user, new_id(), EXTENSIONS[fmt])
        try:
            self.storage.put_bytes(key, data, content_type_for(key))
            name = self.remember_original_name(key, original_name) if original_name else None
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull("the storage is full: the upload was not stored; free some space") from exc
            raise
        return UploadInfo(key=key, width=width, height=height, format=fmt, bytes=len(data), original_name=name)

    def remember_original_name(self, upload_key: str, name: str) -> str | None:
        """Keep the upload's own file name (sanitised) beside it; returns what was kept."""
        kept = sanitise_name(name)
        if kept is not None:
            self.storage.put_json(original_name_key(upload_key), {"name": kept})
        return kept

    # --- executions ---------------------------------------------------------------------
    def submit(
        self,
        user: str,
        operation: str,
        upload_key: str | None,
        mask_key: str | None = None,
        options: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        *,
        upload_keys: list[str] | None = None,
        retry_of: str | None = None,
    ) -> ExecutionRecord:
        """Start one execution: of one upload, or of a batch (``upload_keys``: one execution, counted
        once against the running limit, each image its own result)."""
        options = options or {}
        if (upload_key is None) == (upload_keys is None):
            raise BadRequest("give one upload, or a batch of uploads, not both")
        if upload_keys is not None:
            if not 1 <= len(upload_keys) <= self.settings.batch_max_images:
                raise BadRequest(f"a batch takes 1 to {self.settings.batch_max_images} images, not {len(upload_keys)}")
            if mask_key is not None:
                raise BadRequest("a mask belongs to one image: a batch takes no mask")
            upload_key = upload_keys[0]
        assert upload_key is not None
        try:
            Operation(operation)
        except ValueError:
            raise BadRequest(f"unknown operation {operation!r}: choose {offered_operations_in_words()}") from None
        try:
            check_options(operation, options)  # the schema ValidateInput applies, before anything is stored
        except OptionError as exc:
            raise BadRequest(exc.message) from None
        if problem := not_installed_problem(operation, options, self.settings):
            raise Unprocessable(problem)  # before any job: the model it chose is not where the jobs run
        named = [("upload", key) for key in upload_keys or [upload_key]] + [("mask", mask_key)]
        for what, key in named:
            if key is not None and (problem := key_problem(key, f"the {what} key")):
                # Before it reaches storage (a file name too long, a NUL byte): such a key names none of
                # the user's uploads, so the answer is the same 404 as for any unknown upload.
                raise NotFoundError(f"no {what} of yours can have that key: {problem}")
        for what, key in named:
            if key is not None and (not keys.is_under_user(key, user) or not self.storage.exists(key)):
                raise NotFoundError(f"no {what} {key!r} among your uploads")

        fingerprint = hashlib.sha256(
            json.dumps([operation, upload_keys or upload_key, mask_key, options], sort_keys=True).encode()
        ).hexdigest()
        if idempotency_key is not None:
            try:
                keys.safe_part(idempotency_key, "idempotency key")
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
        execution_id = new_id()

        request = AnalysisRequest(
            execution_id=execution_id,
            user=user,
            operation=operation,
            input_key=upload_key,
            input_keys=upload_keys or [],
            mask_key=mask_key,
            options=options,
        )
        record = ExecutionRecord(
            **request.model_dump(),
            # Read once here, so a batch's view (polled every second or so) reads no name.json per image.
            input_names=[self.original_name(key) for key in upload_keys or []],
            execution_arn=self.execution_arn(execution_id),
            idempotency_key=idempotency_key,
            retry_of=retry_of,
            # The state Step Functions enters first; its steps write the next ones (aiorch/index/stages.py).
            current_state="ValidateInput",
            stage=QUEUED_TO_VALIDATE,
            stage_at=utcnow(),
            # Charged to this month's budget by the index's start, replaced by the cost once recorded.
            estimated_cost_usd=estimate_usd(len(upload_keys or [upload_key]), self.settings),
        )
        # One index transaction claims the Idempotency-Key, checks the running limit and creates the
        # RUNNING record, so concurrent submits can neither overshoot the limit nor split a key.
        limit = self.settings.max_running_executions_per_user
        try:
            started = self.index.start(
                record,
                limit=limit,
                idempotency=(idempotency_key, fingerprint) if idempotency_key else None,
                queue=self._queue_bounds(),
                budget=Budget(month_of(record.created_at), self.settings.monthly_budget_usd),
            )
        except IndexQueueFull as full:
            raise self._queue_full(full, len(upload_keys or [upload_key])) from None
        except IndexBudgetSpent as spent:
            raise self._budget_spent(spent, record.created_at) from None
        except RunningLimitReached:
            raise TooManyRunning(
                f"you already have {limit} executions running (the limit is {limit}); try again when one finishes",
                retry_after_s=10,
            ) from None
        except IdempotencyKeyReused:
            raise IdempotencyConflict("this Idempotency-Key was already used for a different request") from None
        except sqlite3.OperationalError as exc:
            if "full" in str(exc):  # SQLITE_FULL: "database or disk is full"
                raise StorageFull("the disk under the execution index is full: nothing was started") from exc
            raise
        if not started.created:
            return started.record
        try:
            self.states.start_execution(
                stateMachineArn=self.settings.resolved_state_machine_arn,
                name=execution_id,
                input=json.dumps({"request": request.model_dump(mode="json", exclude=_not_sent(request))}),
            )
        except Exception as exc:
            self.index.finalise(
                user,
                execution_id,
                Outcome(
                    status=ExecutionStatus.FAILED,
                    recorded_by="submit",
                    error_type="StartExecutionFailed",
                    error_message=f"the workflow could not be started: {exc}",
                ),
            )
            raise StatesUnavailable(f"the workflow service could not start the execution: {exc}") from exc
        return record

    def _queue_bounds(self) -> QueueBounds | None:
        """The admission bounds on queued images (settings; 0 unlimited), None when there are none."""
        bounds = QueueBounds(self.settings.max_queued_images_per_user, self.settings.max_queued_images)
        return bounds if bounds.per_user or bounds.overall else None

    @staticmethod
    def _budget_spent(spent: IndexBudgetSpent, submitted_at: datetime) -> BudgetSpent:
        """The refusal, in plain words: what is left of the month's budget, what this run would take,
        and when the budget resets (Retry-After: until then)."""
        resets = month_resets_at(submitted_at)
        left = max(0.0, spent.limit_usd - spent.spent_usd)
        return BudgetSpent(
            f"your monthly budget is spent: {usd_words(left)} of {usd_words(spent.limit_usd)} is left for "
            f"{spent.month}, and this run is estimated at {usd_words(spent.estimate_usd)}; the budget resets on "
            f"{resets:%Y-%m-%d} 00:00 UTC",
            retry_after_s=max(1, math.ceil((resets - submitted_at).total_seconds())),
        )

    def _queue_full(self, full: IndexQueueFull, images: int) -> QueueFull:
        """The refusal, in plain words: how much work is ahead (queued images at the settings' GPU
        seconds per image over the job slots) and, as Retry-After, about when this request's room frees."""
        per_image_s = self.settings.queue_seconds_per_image / max(1, self.settings.job_slots)
        minutes = max(1, math.ceil(full.queued * per_image_s / 60))
        ahead = f"about {minutes} minute{'s' if minutes != 1 else ''} of work ahead"
        retry = max(10, math.ceil(images * per_image_s))
        if full.scope == "user":
            return QueueFull(
                f"the queue is full: you have {full.queued} images queued (your limit is {full.limit}), {ahead}; "
                f"try again in about {retry} s, or send fewer images",
                retry_after_s=retry,
                status_code=429,
            )
        return QueueFull(
            f"the queue is full: {full.queued} images are queued (the limit is {full.limit}), {ahead}; "
            f"try again in about {retry} s",
            retry_after_s=retry,
            status_code=503,
        )

    def _describe(self, record: ExecutionRecord, *, live: bool = False) -> dict[str, Any] | None:
        """DescribeExecution, or None when the service does not answer it. ``live``: the caller asked
        for this execution's live status, so a service that cannot be reached is StatesUnavailable
        (503 with the reason) rather than the index's possibly stale RUNNING."""
        try:
            return dict(self.states.describe_execution(executionArn=record.execution_arn or ""))
        except BotoCoreError as exc:  # not reached at all: down, or the connection failed
            if live:
                raise StatesUnavailable(
                    f"the workflow service is down, so the live status cannot be read now; try again shortly ({exc})"
                ) from exc
            return None
        except Exception:  # unknown to the service (its memory went with a restart): the index still answers
            return None

    def cancel(self, user: str, execution_id: str) -> ExecutionView:
        record = self._record(user, execution_id)
        if not record.status.is_final:
            self._stop(record)
        return self._view_after_stop(self._record(user, execution_id))

    def _view_after_stop(self, record: ExecutionRecord) -> ExecutionView:
        """The view a cancel answers: stopped but not yet recorded by the status-change handler (seconds
        later), it says what Step Functions says. One DescribeExecution per cancel, never per poll."""
        view = self.view(record)
        if record.status.is_final:
            return view
        described = self._describe(record)
        if described is not None and described.get("status") not in (None, "RUNNING"):
            view.status = ExecutionStatus(described["status"])
            view.finished_at = described.get("stopDate")
        return view

    def delete(self, user: str, execution_id: str) -> None:
        """Remove an ended execution from the user's history: its results (every job's files and the
        stored state history), then its index entry. A running one is cancelled first (409). The upload
        stays (another execution may use it); the anonymous analytics row stays for the analysts.
        Objects go first, so a failure part-way leaves the entry and a repeated DELETE finishes it."""
        self._await_recorded(self._record(user, execution_id))
        for key in list(self.storage.list(keys.execution_results_prefix(user, execution_id))):
            self.storage.delete(key)
        try:
            self.index.delete(user, execution_id)
        except IndexStillRunning:  # not reached: a final record never runs again
            raise StillRunning(f"execution {execution_id} is still running: cancel it first") from None

    def _await_recorded(self, record: ExecutionRecord, timeout_s: float = 15.0) -> ExecutionRecord:
        """The record once its end is recorded. An execution that Step Functions has ended (just
        cancelled, say) is recorded by the status-change handler seconds later, with its analytics row:
        wait for that rather than refuse, or finalise here and lose the row."""
        if record.status.is_final:
            return record
        described = self._describe(record, live=True)
        if described is not None and described.get("status") in (None, "RUNNING"):
            raise StillRunning(f"execution {record.execution_id} is still running: cancel it first")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.index.get(record.user, record.execution_id)
            if now is None or now.status.is_final:
                return now or record
        raise StillRunning(f"execution {record.execution_id} has ended but is still being recorded: try again shortly")

    def _stop(self, record: ExecutionRecord, attempts: int = 6) -> None:
        """StopExecution, retried: moto's local interpreter sometimes answers 500 when a stop
        lands while a task is being scheduled; an execution that has ended meanwhile is fine."""
        for attempt in range(attempts):
            try:
                self.states.stop_execution(
                    executionArn=record.execution_arn or "", error="Cancelled", cause="cancelled by the user"
                )
                return
            except BotoCoreError as exc:
                raise StatesUnavailable(
                    f"the workflow service is down, so the execution cannot be cancelled now; try again shortly ({exc})"
                ) from exc
            except ClientError as exc:
                if "ExecutionDoesNotExist" in str(exc):
                    # The service no longer knows it (its memory went with a restart): nothing can
                    # still run it, so the cancellation is recorded here.
                    self.index.finalise(
                        record.user,
                        record.execution_id,
                        Outcome(
                            status=ExecutionStatus.ABORTED,
                            recorded_by="cancel",
                            error_type="Cancelled",
                            error_message="cancelled by the user; the workflow service no longer knew this execution",
                        ),
                    )
                    return
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if status < 500:
                    raise
            described = self._describe(record)
            if described is not None and described.get("status") != "RUNNING":
                return
            time.sleep(0.2 * (attempt + 1))
        raise StatesUnavailable("the workflow service did not accept the cancellation; try again")
