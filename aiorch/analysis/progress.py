"""Progress arithmetic: the one formula that turns where a run stands into a percent.

A run is a row of steps: ValidateInput, each of the operation's jobs, RecordResult. Each step has an
equal share of the bar. Inside a job's share, the job's run is weighed by phase (JOB_PHASE_WEIGHTS):
waiting in the queue and starting (before and while it reads its input and loads its model), the
model's own work (tiles, regions), writing the result. The stage names come from one enum
(aiorch.contracts.JobStage, which the jobs write). A single image's run and each image of a batch go
through the same functions (job_fraction, run_fraction, as_percent), so the bar never moves
backwards over a run's stages and reads 100 only once the run (or the image) has ended. Where the
index's state and the jobs' progress.json disagree (their writers land out of order), the further of
the two places is shown (furthest).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from aiorch.analysis.views import ProgressView
from aiorch.contracts import (
    JOB_FOR_STATE,
    JOBS_FOR_OPERATION,
    STATE_FOR_JOB,
    JobKind,
    JobProgress,
    JobStage,
    Operation,
    ProgressPhase,
)

__all__ = [
    "BATCH_STATES",
    "FINISHED_STAGE",
    "JOB_FOR_STATE",
    "JOB_PHASE_WEIGHTS",
    "STATE_FOR_JOB",
    "Place",
    "as_percent",
    "furthest",
    "image_fraction",
    "job_fraction",
    "progress_view",
    "run_fraction",
    "stage_remaining_s",
    "state_fraction",
]

FINISHED_STAGE = JobStage.done.value  # the last write of a finished job

# One job's share of the bar, by phase, in the order a job passes them (they sum to 1; done is the end).
JOB_PHASE_WEIGHTS: dict[ProgressPhase, float] = {
    ProgressPhase.queued: 0.05,  # no progress.json yet: Batch's queue, the container's start
    ProgressPhase.starting: 0.10,  # reading the input, then loading the model (half each)
    ProgressPhase.model: 0.80,  # the model's own stage(s): tiles, regions
    ProgressPhase.writing: 0.05,  # encoding and writing the result
}
_PHASE_START = {phase: sum(list(JOB_PHASE_WEIGHTS.values())[:i]) for i, phase in enumerate(JOB_PHASE_WEIGHTS)} | {
    ProgressPhase.done: 1.0
}
# Within the starting phase, the stage's own part of it.
_STARTING_PART = {JobStage.reading_input: (0.0, 0.5), JobStage.loading_model: (0.5, 0.5)}
# A job that has not said "done" is not complete, whatever its counts say.
_BEFORE_DONE = 0.999

# The Choice states right after a job (the ASL's AfterDetectText): that job is done, the next not begun.
_AFTER_JOB = {"AfterDetectText": JobKind.detect_text}
# The states a batch's images run in (RunChunks' Map): the jobs' share is filled by the images' progress.
BATCH_STATES = frozenset({"RunChunks", "ChunkJobs", "ChunkJob", "ChunkFailed"})


def job_fraction(job_progress: JobProgress | None) -> float:
    """How far through its run a job is, 0..1, from its progress.json (None: not written yet, so queued).
    Monotonic over the stages in the order jobs write them; 1 only at "done"."""
    if job_progress is None:
        return 0.0
    stage = JobStage.named(job_progress.stage)
    phase = stage.phase if stage is not None else ProgressPhase.model  # a name no job writes: model work
    if phase is ProgressPhase.done:
        return 1.0
    within = min(1.0, job_progress.done / job_progress.total) if job_progress.total > 0 else 0.0
    weight = JOB_PHASE_WEIGHTS[phase]
    start = _PHASE_START[phase]
    if stage in _STARTING_PART:
        offset, part = _STARTING_PART[stage]
        start, weight = start + weight * offset, weight * part
    return round(min(_BEFORE_DONE, start + weight * within), 6)


def run_fraction(position: int, steps: int, fraction: float) -> float:
    """How far through a row of ``steps`` equal steps a run is, at step ``position`` (0-based), that
    step ``fraction`` (0..1) done."""
    return (position + min(1.0, max(0.0, fraction))) / steps if steps else 0.0


def as_percent(fraction: float) -> float:
    """The percent shown: rounded down to a tenth, so it reads 100 only when the run has ended."""
    return math.floor(1000.0 * fraction + 1e-9) / 10.0


def image_fraction(step: int, steps: int, job_progress: JobProgress | None) -> float:
    """One image of a batch: its ``steps`` jobs (the operation's), at job ``step`` with its progress.json."""
    return run_fraction(step, steps, job_fraction(job_progress))


def stage_remaining_s(job_progress: JobProgress, now: datetime) -> float | None:
    """Seconds left in the job's current stage at its measured rate (seconds per unit done so far);
    None until one unit is done (no rate yet) or when the stage has no start time."""
    started = job_progress.stage_started_at
    if started is None or job_progress.done <= 0 or job_progress.total <= job_progress.done:
        return None
    per_unit = (job_progress.updated_at - started).total_seconds() / job_progress.done
    left_at_update = per_unit * (job_progress.total - job_progress.done)
    return round(max(0.0, left_at_update - (now - job_progress.updated_at).total_seconds()), 1)


def _steps(operation: Operation) -> list[str]:
    """The run's row of steps: ValidateInput, the operation's jobs, RecordResult."""
    return ["ValidateInput", *(j.value for j in JOBS_FOR_OPERATION.get(operation, ())), "RecordResult"]


def state_fraction(operation: Operation, state: str | None, job_progress: JobProgress | None) -> float:
    """How far through its run (0..1) a run is that is in ``state`` with its job at ``job_progress``."""
    steps = _steps(operation)
    job = JOB_FOR_STATE.get(state or "")
    if job is not None and job.value in steps:
        position, fraction = steps.index(job.value), job_fraction(job_progress)
    elif state in _AFTER_JOB and _AFTER_JOB[state].value in steps:
        position, fraction = steps.index(_AFTER_JOB[state].value), 1.0
    elif state == "ChooseOperation":  # validated, no job begun
        position, fraction = 0, 1.0
    elif state == "RecordResult":
        position, fraction = len(steps) - 1, 0.5
    elif state == "Succeeded":  # recorded, and read a moment before the index says it ended: not back to 0
        position, fraction = len(steps) - 1, 0.95
    else:
        position, fraction = 0, 0.0
    return run_fraction(position, len(steps), fraction)


Place = tuple[str | None, JobProgress | None]  # a state and its job's progress.json (None outside a job)


def furthest(operation: Operation, places: Sequence[Place]) -> Place:
    """Of the places a run's records put it, the furthest along (the first of equals).

    The index's last state and the jobs' progress.json are written by different writers (the steps, Batch's
    state-change events, the jobs themselves) and may be read out of order: a job can have written "done"
    before the event saying it started is recorded. The run is at least as far as any of them says, so
    the bar does not fall back to an older state's place."""
    return max(places, key=lambda place: state_fraction(operation, *place))


def progress_view(
    operation: Operation,
    state: str | None,
    succeeded: bool,
    job_progress: JobProgress | None,
    elapsed_s: float | None = None,
    now: datetime | None = None,
    image_fractions: Sequence[float] | None = None,
) -> ProgressView:
    """The stage, the percentage, the time so far and, inside a job stage, an estimate of the time it has left.

    ``image_fractions``: a batch's images, each 0..1 (image_fraction; an ended image 1): once the batch's
    images run, they fill the jobs' share of the bar together (the state's own place where that is
    further, e.g. recording)."""
    if succeeded:
        return ProgressView(stage="done", done=1, total=1, percent=100.0, elapsed_s=elapsed_s, remaining_s=0.0)
    steps = _steps(operation)
    job = JOB_FOR_STATE.get(state or "")
    fraction = state_fraction(operation, state, job_progress)
    progress = ProgressView(stage=state, elapsed_s=elapsed_s)
    if image_fractions is not None:
        # An image's progress shows its job has begun, even when the index still says validating.
        if state in BATCH_STATES or job is not None or any(f > 0 for f in image_fractions):
            mean = sum(image_fractions) / len(image_fractions) if image_fractions else 0.0
            fraction = max(fraction, (1 + mean * (len(steps) - 2)) / len(steps))  # the jobs' share, by its images
    elif job is not None and job.value in steps and job_progress is not None:
        progress = ProgressView(
            stage=job_progress.stage, done=job_progress.done, total=job_progress.total, elapsed_s=elapsed_s
        )
        if now is not None:
            progress.remaining_s = stage_remaining_s(job_progress, now)
    progress.percent = as_percent(fraction)
    return progress
