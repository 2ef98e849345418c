"""The queries of the application service: what an execution is and was, read from the index
record and the jobs' own files (status, lists, batch views with their progress, the state history,
results). Nothing here writes; the commands (aiorch/analysis/commands.py) build on these reads.

Status answers need no Step Functions read API (DESIGN.md: status from our own records); the state
history is for the ops view.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from aiorch import keys
from aiorch.analysis.errors import (
    NotFoundError,
    StatesUnavailable,
)
from aiorch.analysis.media import content_type_for
from aiorch.analysis.names import MAX_NAME_CHARS, download_name, original_name_key
from aiorch.analysis.progress import as_percent, furthest, image_fraction, progress_view
from aiorch.analysis.retry import retried_by
from aiorch.analysis.views import (
    ErrorView,
    ExecutionView,
    ImageView,
    ResultLink,
    ThumbnailLink,
    thumbnail_named_in,
)
from aiorch.contracts import (
    JOB_FOR_STATE,
    JOBS_FOR_OPERATION,
    STATE_FOR_JOB,
    ExecutionRecord,
    ExecutionStatus,
    JobKind,
    JobProgress,
    Operation,
    utcnow,
)
from aiorch.index import open_index
from aiorch.settings import Settings
from aiorch.states import execution_arn
from aiorch.storage import NotFound, Storage, open_app_storage


def final_outcome(operation: str, metadata: dict[str, Any]) -> tuple[str | None, bool]:
    """(outcome, unchanged) as the operation's final job's metadata.json says them: inpaint's when it ran,
    else the latest job that wrote metadata (detect-text's, when inpaint has not written yet)."""
    for job in reversed(JOBS_FOR_OPERATION.get(Operation(operation), ())):
        meta = metadata.get(job.value)
        if isinstance(meta, dict):
            outcome = meta.get("outcome")
            return (outcome if isinstance(outcome, str) and outcome else None), meta.get("unchanged") is True
    return None, False


class AnalysisQueries:
    """The reads of ``AnalysisService`` with the plumbing both halves share (settings, storage, the
    index, the Step Functions client)."""

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

    # --- upload names --------------------------------------------------------------------
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
