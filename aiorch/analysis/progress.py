"""Progress arithmetic: where an execution stands, from its current state and its job's progress.json.

The bar gives each step of the workflow (validate, each job, record) an equal share. Inside a job share,
the job's own stages (jobs/cli.py writes them) are mapped so the bar never moves backwards: reading the
input is the first 5 %, the model's stage (tiles) the next 90 %, writing the result the last 5 %.
"""

from __future__ import annotations

from datetime import datetime

from aiorch.analysis.views import ProgressView
from aiorch.contracts import JOB_FOR_STATE, JOBS_FOR_OPERATION, STATE_FOR_JOB, JobKind, JobProgress, Operation

__all__ = ["FINISHED_STAGE", "JOB_FOR_STATE", "STATE_FOR_JOB", "job_fraction", "progress_view", "stage_remaining_s"]

# jobs/cli.py's stages around the model's own; the last write of a finished job is FINISHED_STAGE.
READING_STAGE, WRITING_STAGE, FINISHED_STAGE = "reading input", "writing result", "done"
_STAGE_SPAN = {READING_STAGE: (0.0, 0.05), WRITING_STAGE: (0.95, 0.05), FINISHED_STAGE: (1.0, 0.0)}
_MODEL_SPAN = (0.05, 0.9)
# The Choice states right after a job (the ASL's AfterDetectText): that job is done, the next not begun.
_AFTER_JOB = {"AfterDetectText": JobKind.detect_text}


def job_fraction(job_progress: JobProgress) -> float:
    """How far through its job a progress.json says the job is, 0..1, monotonic over the job's stages."""
    start, width = _STAGE_SPAN.get(job_progress.stage, _MODEL_SPAN)
    within = min(1.0, job_progress.done / job_progress.total) if job_progress.total else 0.0
    return round(start + width * within, 6)


def stage_remaining_s(job_progress: JobProgress, now: datetime) -> float | None:
    """Seconds left in the job's current stage at its measured rate (seconds per unit done so far);
    None until one unit is done (no rate yet) or when the stage has no start time."""
    started = job_progress.stage_started_at
    if started is None or job_progress.done <= 0 or job_progress.total <= job_progress.done:
        return None
    per_unit = (job_progress.updated_at - started).total_seconds() / job_progress.done
    left_at_update = per_unit * (job_progress.total - job_progress.done)
    return round(max(0.0, left_at_update - (now - job_progress.updated_at).total_seconds()), 1)


def progress_view(
    operation: Operation,
    state: str | None,
    succeeded: bool,
    job_progress: JobProgress | None,
    elapsed_s: float | None = None,
    now: datetime | None = None,
) -> ProgressView:
    """The stage, the percentage, the time so far and, inside a job stage, an estimate of the time it has left."""
    if succeeded:
        return ProgressView(stage="done", done=1, total=1, percent=100.0, elapsed_s=elapsed_s, remaining_s=0.0)
    steps = ["ValidateInput", *(j.value for j in JOBS_FOR_OPERATION.get(operation, ())), "RecordResult"]
    job = JOB_FOR_STATE.get(state or "")
    progress = ProgressView(stage=state, elapsed_s=elapsed_s)
    if job is not None:
        fraction = 0.0
        if job_progress is not None:
            progress = ProgressView(
                stage=job_progress.stage, done=job_progress.done, total=job_progress.total, elapsed_s=elapsed_s
            )
            fraction = job_fraction(job_progress)
            if now is not None:
                progress.remaining_s = stage_remaining_s(job_progress, now)
        position = steps.index(job.value)
    elif state in _AFTER_JOB and _AFTER_JOB[state].value in steps:
        position, fraction = steps.index(_AFTER_JOB[state].value), 1.0
    elif state == "RecordResult":
        position, fraction = len(steps) - 1, 0.5
    elif state == "Succeeded":  # recorded, and read a moment before the index says it ended: not back to 0
        position, fraction = len(steps) - 1, 0.95
    else:
        position, fraction = 0, 0.0
    progress.percent = round(100.0 * (position + fraction) / len(steps), 1)
    return progress
