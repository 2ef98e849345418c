"""The application service the CLI and the API share.

It stores uploads, starts executions (index entry first, create-if-absent, so
an Idempotency-Key maps to one execution), reports live status from Step
Functions plus the job's progress.json, lists history and cancels. It talks to
Step Functions through a plain boto3 client: the local states service locally,
AWS in AWS.
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
from aiorch.analysis.names import MAX_NAME_CHARS, download_name, original_name_key, sanitise_name
from aiorch.analysis.progress import as_percent, furthest, image_fraction, progress_view
from aiorch.analysis.retry import retried_by
from aiorch.analysis.views import (
    ErrorView,
    ExecutionView,
    ImageView,
    ResultLink,
    ThumbnailLink,
    UploadInfo,
    thumbnail_named_in,
)
from aiorch.contracts import (
    JOB_FOR_STATE,
    JOBS_FOR_OPERATION,
    STATE_FOR_JOB,
    AnalysisRequest,
    ExecutionRecord,
    ExecutionStatus,
    JobKind,
    JobProgress,
    Operation,
    Outcome,
    offered_operations_in_words,
    utcnow,
)
from aiorch.fields import key_problem
from aiorch.ids import new_id
from aiorch.index import Budget, IdempotencyKeyReused, QueueBounds, RunningLimitReached, open_index
from aiorch.index import BudgetSpent as IndexBudgetSpent
from aiorch.index import QueueFull as IndexQueueFull
from aiorch.index import StillRunning as IndexStillRunning
from aiorch.index.stages import QUEUED_TO_VALIDATE
from aiorch.operations import OptionError, check_options
from aiorch.pricing import estimate_usd, month_of, month_resets_at, usd_words
from aiorch.settings import Settings
from aiorch.states import execution_arn
from aiorch.storage import NotFound, Storage, open_app_storage
from aiorch.weights import not_installed_problem


def final_outcome(operation: str, metadata: dict[str, Any]) -> tuple[str | None, bool]:
    """(outcome, unchanged) as the operation's final job's metadata.json says them: inpaint's when it ran,
    else the latest job that wrote metadata (detect-text's, when inpaint has not written yet)."""
    for job in reversed(JOBS_FOR_OPERATION.get(Operation(operation), ())):
        meta = metadata.get(job.value)
        if isinstance(meta, dict):
            outcome = meta.get("outcome")
            return (outcome if isinstance(outcome, str) and outcome else None), meta.get("unchanged") is True
    return None, False


def _not_sent(request: AnalysisRequest) -> set[str] | None:
    """What a one-image request leaves out of the state machine's input (it travels as it always has)."""
    return None if request.is_batch else {"input_keys"}


class AnalysisService:
    def __init__(self, settings: Settings, storage: Storage | None = None, states_client: Any = None) -> None:
        self.settings = settings
        self.storage = storage or open_app_storage(settings)
        self.index = open_index(settings, self.storage)
        self._states = states_client

    # --- plumbing -------------------------------------------------------------------
    @property
    def states(self) -> Any:
        if self._states is None:
            from aiorch.states import states_client  # a plain boto3 client; AWS when configured

            self._states = states_client(self.settings)
        return self._states

    def execution_arn(self, execution_id: str) -> str:
        return execution_arn(self.settings.resolved_state_machine_arn, execution_id)

    def _record(self, user: str, execution_id: str) -> ExecutionRecord:
        try:
            keys.safe_part(execution_id, "execution id")
        except ValueError:
            raise NotFoundError(f"no execution {execution_id!r}") from None
        record = self.index.get(user, execution_id)
        if record is None:  # another user's id looks exactly like a missing one
            raise NotFoundError(f"no execution {execution_id!r}")
        return record

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

    def original_name(self, upload_key: str) -> str | None:
        try:
            value = self.storage.get_json(original_name_key(upload_key))
        except (NotFound, ValueError):
            return None
        name = value.get("name") if isinstance(value, dict) else None
        # As sanitise_name keeps it (a stem of MAX_NAME_CHARS, a dot, an extension of 16), so a batch's
        # names kept in its record stay small (50 of them, inside DynamoDB's 400 KB item).
        return name[: MAX_NAME_CHARS + 17] if isinstance(name, str) else None

    def _input_names(self, record: ExecutionRecord) -> list[str | None]:
        """A batch's original names: as its record kept them at submit, else (records from before
        they were kept, or started outside submit) read from each upload's name.json."""
        if len(record.input_names) == len(record.input_keys):
            return list(record.input_names)
        return [self.original_name(key) for key in record.input_keys]

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

    def _job_progress(self, record: ExecutionRecord, job: JobKind) -> JobProgress | None:
        try:
            return JobProgress.model_validate(
                self.storage.get_json(keys.result_prefix(record.user, record.execution_id, job.value) + "progress.json")
            )
        except (NotFound, ValueError):
            return None

    def _current_state(self, record: ExecutionRecord) -> tuple[str | None, JobProgress | None]:
        """The state the execution is in and its job's progress, read cheaply.

        While a job runs, its own progress.json (one storage read per job) says where it is; outside a
        running job (validating, queued, between jobs, recording) the index record says which state
        its steps last wrote. No Step Functions read API is called (DESIGN.md: status from our own
        records); GetExecutionHistory is for the ops view (``history``).
        """
        operation = Operation(record.operation)
        read: dict[JobKind, JobProgress | None] = {}  # from the last job back to the latest that has begun
        latest: tuple[str | None, JobProgress | None] | None = None
        for job in reversed(JOBS_FOR_OPERATION.get(operation, ())):
            read[job] = self._job_progress(record, job)
            if read[job] is not None:
                latest = STATE_FOR_JOB[job], read[job]
                break
        state = record.current_state  # as the execution's own steps wrote it (aiorch/index/stages.py)
        state_job = JOB_FOR_STATE.get(state or "")
        # An earlier job than the latest one is not read: the latest job's place is past its end anyway.
        noted = state, read.get(state_job) if state_job is not None else None
        # The index's state and the jobs' progress.json come from different writers that may land out of
        # order (a job can write "done" before the event saying it started is recorded): the run is as
        # far as the further of the two says; where they tie (a job done, the next one queued) the index's
        # state, which names what came next.
        return furthest(operation, [noted, latest]) if latest is not None else noted

    def _state_from_history(self, record: ExecutionRecord) -> str | None:
        from aiorch.states import history_events

        try:
            events = history_events(self.states, record.execution_arn or "")
        except Exception:  # the service is down or no longer holds it: no state, the index still answers
            return None
        entered = [e for e in events if e["type"].endswith("StateEntered")]
        return str(entered[-1]["stateEnteredEventDetails"]["name"]) if entered else None

    def view(self, record: ExecutionRecord, *, live: bool = False) -> ExecutionView:
        """The execution as the CLI and API show it, from the index record and the jobs' own files:
        no Step Functions call, so a poll costs no rate-limited API and answers while that service is
        down. (``live`` is kept for callers; the answer is the same.)"""
        status = record.status
        finished_at = record.finished_at
        names = self._input_names(record) if record.input_keys else [self.original_name(record.input_key)]
        state: str | None = None
        job_progress: JobProgress | None = None
        if not status.is_final:
            # The index and progress.json only: an execution that ended is finalised in the index by
            # its recorder or the status-change handler (EventBridge in AWS, the watchdog locally).
            state, job_progress = self._current_state(record)
        view = ExecutionView(
            execution_id=record.execution_id,
            operation=record.operation,
            status=status,
            current_state=state,
            # The index record's own words (no Step Functions call); an ended one is at no stage.
            stage=None if status.is_final else record.stage,
            stage_at=None if status.is_final else record.stage_at,
            started_at=record.created_at,
            finished_at=finished_at,
            input_key=record.input_key,
            original_name=names[0],  # a batch's first image's
            mask_key=record.mask_key,
            options=record.options,
            retry_of=record.retry_of,
            retried_by=retried_by(self.storage, record),  # read only for an ended one that did not succeed
            estimated_cost_usd=record.estimated_cost_usd,
            cost=record.cost,
        )
        now = utcnow()
        view.progress = progress_view(
            Operation(record.operation),
            state,
            status is ExecutionStatus.SUCCEEDED,
            job_progress,
            elapsed_s=round(((finished_at or now) - record.created_at).total_seconds(), 1),
            now=now,
        )
        if finished_at:
            view.duration_s = round((finished_at - record.created_at).total_seconds(), 3)
        if record.error_type or record.error_message:
            view.error = ErrorView(type=record.error_type or "Error", message=record.error_message or "")
        view.results = [
            ResultLink(
                job=k.split("/")[-2],
                key=k,
                content_type=content_type_for(k),
                filename=download_name(view.original_name, record.operation, record.execution_id, k),
            )
            for k in record.result_keys
        ]
        if record.input_keys:  # a batch: each image with its own results; no one set of results
            view.results, view.metadata = [], {}
            view.images, fractions = self._batch_images(record, status, names)
            view.progress = progress_view(  # the same formula, its jobs' share filled by its images
                Operation(record.operation),
                state,
                status is ExecutionStatus.SUCCEEDED,
                None,
                elapsed_s=view.progress.elapsed_s,
                image_fractions=fractions,
            )
            view.thumbnail = view.thumbnail_beside_results()  # its first image's, for the History card
            return view
        for key in record.metadata_keys:
            try:
                view.metadata[key.split("/")[-2]] = self.storage.get_json(key)
            except (NotFound, ValueError):
                continue
        view.outcome, view.unchanged = final_outcome(record.operation, view.metadata)
        view.thumbnail = view.thumbnail_beside_results()
        return view

    def _batch_images(
        self, record: ExecutionRecord, status: ExecutionStatus, names: list[str | None]
    ) -> tuple[list[ImageView], list[float]]:
        """Each image of a batch: from the recorded outcomes once recorded (names and thumbnails kept in
        the record: no storage read at all), else from what its jobs have written so far (one listing
        of the execution's results, then each running image's progress, each new result's metadata).
        With the views, how far each image is (0..1, an ended one 1) for the batch's own progress."""
        kinds = [k.value for k in JOBS_FOR_OPERATION[Operation(record.operation)]]
        recorded = {o.index: o for o in record.images}
        written: set[str] = set()
        if any(index not in recorded for index in range(len(record.input_keys))):
            written = set(self.storage.list(keys.execution_results_prefix(record.user, record.execution_id)))
        images, fractions = [], []
        for index, (input_key, name) in enumerate(zip(record.input_keys, names, strict=True)):
            image = ImageView(index=index, input_key=input_key, original_name=name, status="PENDING")
            fraction = 0.0
            prefixes = [keys.batch_image_prefix(record.user, record.execution_id, kind, index) for kind in kinds]
            outcome = recorded.get(index)
            if outcome is not None:
                image.status = outcome.status.value
                result_keys = outcome.result_keys
                if outcome.error_type or outcome.error_message:
                    image.error = ErrorView(type=outcome.error_type or "Error", message=outcome.error_message or "")
            else:
                result_keys = sorted(k for k in written if k.startswith(prefixes[-1]) and "/result." in k)
                failed = [p for p in prefixes if p + "error.json" in written]
                if result_keys:
                    image.status = "SUCCEEDED"
                elif failed:
                    try:
                        error = self.storage.get_json(failed[-1] + "error.json")
                        image.error = ErrorView(type=str(error.get("type")), message=str(error.get("message")))
                    except (NotFound, ValueError, AttributeError):
                        image.error = ErrorView(type="Error", message="its job failed")
                    # Its job was stopped with the batch (the job says "Stopped"): not a failure of the image.
                    image.status = "ABORTED" if image.error.type == "Stopped" else "FAILED"
                else:
                    running = [i for i, p in enumerate(prefixes) if p + "progress.json" in written]
                    if running and not status.is_final:
                        step = running[-1]
                        progress = self._progress_at(prefixes[step])
                        image.status = "RUNNING"
                        image.stage = progress.stage if progress else kinds[step]
                        fraction = image_fraction(step, len(kinds), progress)
                        image.percent = as_percent(fraction)
                    elif status.is_final:
                        image.status = status.value  # the batch ended (stopped, failed) before this image
            if image.status not in ("PENDING", "RUNNING"):  # ended: its whole share of the batch is done
                fraction = 1.0
            if image.status == "SUCCEEDED":
                image.percent = 100.0
                if outcome is not None and outcome.thumbnail_recorded:
                    thumbnail = outcome.thumbnail
                    image.thumbnail = ThumbnailLink(**thumbnail.model_dump()) if thumbnail else None
                else:  # not yet recorded (or recorded before thumbnails were kept): its metadata.json
                    image.thumbnail = self._thumbnail_of(result_keys, prefixes[-1])
            image.results = [
                ResultLink(
                    job=kinds[-1],
                    key=k,
                    content_type=content_type_for(k),
                    filename=download_name(name, record.operation, f"{record.execution_id}-{index + 1:03d}", k),
                )
                for k in result_keys
            ]
            images.append(image)
            fractions.append(fraction)
        return images, fractions

    def _thumbnail_of(self, result_keys: list[str], prefix: str) -> ThumbnailLink | None:
        """A succeeded batch image's thumbnail, as its last job's metadata.json names it."""
        if not result_keys:
            return None
        try:
            metadata = self.storage.get_json(prefix + "metadata.json")
        except (NotFound, ValueError):
            return None
        return thumbnail_named_in(result_keys[0], metadata)

    def _progress_at(self, prefix: str) -> JobProgress | None:
        try:
            return JobProgress.model_validate(self.storage.get_json(prefix + "progress.json"))
        except (NotFound, ValueError):
            return None

    def get_status(self, user: str, execution_id: str) -> ExecutionView:
        return self.view(self._record(user, execution_id), live=True)

    def list_executions(
        self, user: str, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[ExecutionView], str | None]:
        limit = max(1, min(limit, 100))
        page, next_cursor = self.index.page(user, limit, before=cursor)
        return [self.view(r) for r in page], next_cursor

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

    def history(self, user: str, execution_id: str) -> list[dict[str, Any]]:
        """The state-by-state event history, for ops (Step Functions' own events)."""
        return self._history(self._record(user, execution_id))[1]

    def _history(self, record: ExecutionRecord) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(DescribeExecution, its events) from Step Functions, else the copy stored when it ended
        (aiorch/index/history.py: the local service forgets at a restart). Never an empty answer
        that hides a missing history: the error says what is missing and why."""
        from aiorch.index.history import load_history
        from aiorch.states import history_events  # pages through any Step Functions endpoint

        arn = record.execution_arn or ""
        try:
            described = dict(self.states.describe_execution(executionArn=arn))
            return described, history_events(self.states, arn)
        except ClientError as exc:
            unknown = "ExecutionDoesNotExist" in str(exc)
            reason = None if unknown else f"the workflow service answered {exc}"
        except BotoCoreError as exc:
            reason = f"the workflow service is down ({exc})"
        stored = load_history(self.storage, record.user, record.execution_id)
        if stored is not None:
            return stored
        if reason is not None:
            raise StatesUnavailable(f"the state history cannot be read now: {reason}")
        raise NotFoundError(
            "the state history of this execution is no longer kept: the workflow service restarted before it was stored"
        )

    def state_report(self, record: ExecutionRecord) -> Any:
        """The execution's states with their times (aiorch.states.history.ExecutionReport)."""
        from aiorch.states.history import summarise

        described, events = self._history(record)
        return summarise(events, described)

    def open_result(self, user: str, key: str) -> bytes:
        if not key.startswith(f"results/{user}/") or not keys.is_under_user(key, user):
            raise NotFoundError(f"no result {key!r}")
        try:
            return self.storage.get_bytes(key)
        except NotFound:
            raise NotFoundError(f"no result {key!r}") from None
