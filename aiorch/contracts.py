"""Data contracts shared by the state machine, the Lambdas, the jobs and the API.

Only keys travel between states; these models describe what travels and what
is stored (execution index, job progress, job error, result metadata).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import EnumMeta, StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from aiorch.registry import JOBS, OPERATIONS, REGISTRY

_E = TypeVar("_E")


def utcnow() -> datetime:
    return datetime.now(UTC)


# The enums and maps below are derived from the registry of operations (aiorch/registry/: one module per
# operation); an operation added there is known everywhere they are read. For the type checker they are
# enums whose members are not listed (any member name reads as the enum; a wrong one fails at run time).
if TYPE_CHECKING:

    class _RegisteredMembers(EnumMeta):
        def __getattr__(cls: type[_E], name: str) -> _E: ...

    class Operation(StrEnum, metaclass=_RegisteredMembers):
        """The operations a request names (upscale, denoise, inpaint, detect_text, ...)."""

    class JobKind(StrEnum, metaclass=_RegisteredMembers):
        """The job CLI's subcommands (``python -m jobs <kind>``; detect_text is detect-text)."""

else:
    # detect_text is inpaint's OCR job alone: the text boxes it would mask, shown before inpaint runs.
    Operation = StrEnum("Operation", [(name, name) for name in OPERATIONS], module=__name__)
    JobKind = StrEnum("JobKind", [(job.member, kind) for kind, job in JOBS.items()], module=__name__)
    JobKind.__doc__ = "The job CLI's subcommands (``python -m jobs <kind>``)."


# Which jobs run, in order, for each operation. The state machine's branches match this.
JOBS_FOR_OPERATION: dict[Operation, tuple[JobKind, ...]] = {
    Operation(name): tuple(JobKind(job.kind) for job in definition.jobs) for name, definition in OPERATIONS.items()
}


# The state machine's task state for each job (workflows/image_ai_analysis.asl.json, rendered from the
# registry by ``python -m workflows.render``; a unit test holds the file current). ValidateInput keys its
# job specs by them; progress reads them back.
STATE_FOR_JOB: dict[JobKind, str] = {JobKind(kind): job.state for kind, job in JOBS.items()}
JOB_FOR_STATE: dict[str, JobKind] = {state: job for job, state in STATE_FOR_JOB.items()}


def offered_operations_in_words() -> str:
    """The operations a person chooses, as a refusal lists them ("upscale, denoise or inpaint"): a
    preview (detect_text) is offered inside its operation's form."""
    *first, last = REGISTRY.offered()
    return f"{', '.join(first)} or {last}" if first else last


# The Choice states right after a job whose operations go different ways next (AfterDetectText:
# detect_text is recorded, inpaint goes on to Inpaint): that job is done, the next not begun.
JOB_FOR_AFTER_STATE: dict[str, JobKind] = {
    REGISTRY.after_state(kind): JobKind(kind) for kind in JOBS if REGISTRY.parts_after(kind)
}


class ExecutionStatus(StrEnum):
    """Step Functions' execution statuses, plus our own for an interrupted local service."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    INTERRUPTED = "INTERRUPTED"  # local states service died while the execution ran

    @property
    def is_final(self) -> bool:
        return self is not ExecutionStatus.RUNNING


# One request's images at most (a batch): Step Functions' 256 KiB payload and 25,000-event history
# bound it, and so does one job's command line (SubmitJob's 30 KiB).
BATCH_MAX_IMAGES = 50


class AnalysisRequest(BaseModel):
    """The state machine's input: what the user asked for, by key only.

    A batch (many images, one operation and options) lists them in ``input_keys``; ``input_key`` is
    then its first image, so what shows one image (history, thumbnails) still has one."""

    model_config = ConfigDict(extra="forbid")

    execution_id: str = Field(min_length=1, max_length=80)
    user: str = Field(min_length=1, max_length=128)
    operation: str  # validated by ValidateInput, so an unknown one fails there with a clear error
    input_key: str = Field(min_length=1, max_length=1024)
    input_keys: list[str] = Field(default_factory=list, max_length=BATCH_MAX_IMAGES)
    mask_key: str | None = Field(default=None, max_length=1024)
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_batch(self) -> bool:
        return bool(self.input_keys)


class JobSpec(BaseModel):
    """One model job as ValidateInput prepares it for a Batch task."""

    kind: JobKind
    name: str  # Batch job name: letters, digits, - and _ only
    output_prefix: str  # results/{user}/{execution}/{job}/
    command: list[str]  # the container command: ["upscale", "--input", uri, ...]
    # Batch's fair-share identifier: the user's hash (aiorch.index.stages.share_identifier), so a GPU
    # queue serves users in turn; the ASL passes it as SubmitJob's ShareIdentifier.
    share: str = ""


class ChunkSpec(BaseModel):
    """One chunk of a batch: its jobs in order, each ``python -m jobs <kind> --batch MANIFEST``."""

    images: list[int]  # the request's image indexes this chunk runs
    jobs: list[JobSpec]


class RejectedImage(BaseModel):
    """An image of a batch that ValidateInput refused: it fails alone, the others run."""

    index: int
    message: str


class ValidatedRequest(BaseModel):
    """ValidateInput's output; carried on as ``$.validated``. A batch has ``batch`` set, its chunks
    (the state machine's Map runs them) and the images refused; the single-image fields then describe
    its first accepted image."""

    operation: Operation
    input_key: str
    width: int
    height: int
    bytes: int
    format: str
    jobs: dict[str, JobSpec]  # by state name: Upscale, Denoise, DetectText, Inpaint
    batch: bool = False
    chunks: list[ChunkSpec] = Field(default_factory=list)
    rejected: list[RejectedImage] = Field(default_factory=list)
    result_key: str | None = None


class ProgressPhase(StrEnum):
    """The parts of one job's run, in order; each has its weight in the one progress formula
    (aiorch.analysis.progress). ``queued`` is the time before the job writes anything (Batch's queue, the
    container's start); a job never names it."""

    queued = "queued"
    starting = "starting"
    model = "model"
    writing = "writing"
    done = "done"


class JobStage(StrEnum):
    """Every stage a job names in progress.json (jobs write these, the progress formula weighs them).
    A tiled stage may be named with TILE_ESTIMATE_SUFFIX: the same stage, counted within tiles."""

    reading_input = "reading input"
    loading_model = "load-model"
    upscaling = "upscale"
    denoising = "denoising"
    detecting_text = "detecting text"
    inpainting = "inpainting"
    writing_result = "writing result"
    done = "done"

    @property
    def phase(self) -> ProgressPhase:
        return _STAGE_PHASE.get(self, ProgressPhase.model)

    def estimated(self) -> str:
        """The stage's name while the tiler estimates progress inside each tile."""
        return f"{self.value}{TILE_ESTIMATE_SUFFIX}"

    @classmethod
    def named(cls, name: str) -> JobStage | None:
        """The stage a progress.json names (with or without the estimate suffix); None for a name no job writes."""
        try:
            return cls(name.removesuffix(TILE_ESTIMATE_SUFFIX))
        except ValueError:
            return None


TILE_ESTIMATE_SUFFIX = " (estimated within tiles)"
_STAGE_PHASE = {
    JobStage.reading_input: ProgressPhase.starting,
    JobStage.loading_model: ProgressPhase.starting,
    JobStage.writing_result: ProgressPhase.writing,
    JobStage.done: ProgressPhase.done,
}  # every other stage is the model's own work


class JobProgress(BaseModel):
    """progress.json. There is no percent here: the one formula that turns stages into a percent is
    aiorch.analysis.progress's (a raw done/total reads 100 % at "reading input 1/1")."""

    stage: str
    done: int = 0
    total: int = 0
    updated_at: datetime = Field(default_factory=utcnow)
    # When this stage began: with done/total and updated_at it gives the rate behind the time-left estimate.
    stage_started_at: datetime | None = None


class JobError(BaseModel):
    """error.json: what went wrong, in plain words."""

    type: str
    message: str
    job: str | None = None
    at: datetime = Field(default_factory=utcnow)


class RecordedThumbnail(BaseModel):
    """A succeeded image's thumbnail as its job's metadata.json names it: the key only (links that
    expire are made each time it is shown, never stored)."""

    key: str
    width: int
    height: int


class ImageOutcome(BaseModel):
    """How one image of a batch ended (RecordResult writes them into the record)."""

    index: int
    input_key: str
    status: ExecutionStatus  # SUCCEEDED or FAILED
    result_keys: list[str] = Field(default_factory=list)
    metadata_keys: list[str] = Field(default_factory=list)
    error_type: str | None = None
    error_message: str | None = None
    # Its thumbnail, read from its job's metadata.json once when it was recorded, so showing a batch
    # reads no metadata.json per image. ``thumbnail_recorded`` False (outcomes recorded before this
    # was kept): the view still reads metadata.json; True with no thumbnail: its job named none.
    thumbnail: RecordedThumbnail | None = None
    thumbnail_recorded: bool = False


class RunCost(BaseModel):
    """What a run (or one of its jobs) cost: its device seconds at the price per second of the machine
    it ran on (aiorch/pricing.py), and where that price came from."""

    usd: float = Field(ge=0)
    device_seconds: float = Field(ge=0, description="The jobs' run time, spawn to metadata (timings_s.total).")
    usd_per_second: float = Field(ge=0)
    instance_type: str = Field(description="The instance type priced, or 'local'.")
    capacity: str = Field(description="on-demand, spot or local.")
    price_source: str = Field(description="Where the price came from; a stand-in starts with 'fallback:'.")


class Outcome(BaseModel):
    """How an execution ended, as its recorder (RecordResult, RecordFailure, the status-change handler)
    hands it to the index: one definition for every place that finalises a record. ``None`` lists
    leave the record's own as they are; ``cost`` None: not known (nothing recorded, nothing charged)."""

    status: ExecutionStatus
    recorded_by: str
    result_keys: list[str] | None = None
    metadata_keys: list[str] | None = None
    error_type: str | None = None
    error_message: str | None = None
    images: list[ImageOutcome] | None = None  # a batch's outcomes
    cost: RunCost | None = None


class ExecutionRecord(BaseModel):
    """The execution index entry (executions/{user}/{execution}.json)."""

    execution_id: str
    user: str
    operation: str
    input_key: str
    input_keys: list[str] = Field(default_factory=list)  # a batch's images, in order
    # Their original names (None: none given), parallel to input_keys, kept at submit so a batch's view
    # reads no name.json per image; empty in records from before (the view then reads them).
    input_names: list[str | None] = Field(default_factory=list)
    images: list[ImageOutcome] = Field(default_factory=list)  # a batch's outcomes, once recorded
    mask_key: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    status: ExecutionStatus = ExecutionStatus.RUNNING
    execution_arn: str | None = None
    idempotency_key: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    result_keys: list[str] = Field(default_factory=list)
    metadata_keys: list[str] = Field(default_factory=list)
    error_type: str | None = None
    error_message: str | None = None
    recorded_by: str | None = None  # RecordResult, RecordFailure or the status-change handler
    retry_of: str | None = None  # the execution this one retries (aiorch/analysis/retry.py)
    # Where a running execution is, as its own steps wrote it (submit, ValidateInput, the job's submit
    # and start, the recorders; in AWS Batch's job state changes): the state machine's state and the
    # stage in plain words ("validating", "queued for a GPU", "running upscale", "recording"). A status
    # poll reads these with the job's progress.json, never a Step Functions read API.
    current_state: str | None = None
    stage: str | None = None
    stage_at: datetime | None = None
    # What the run was expected to cost at submit (charged to its month's budget then) and what it
    # cost once recorded (its jobs' device seconds at their price); None: not known.
    estimated_cost_usd: float | None = None
    cost: RunCost | None = None
