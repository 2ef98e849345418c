"""Progress arithmetic: where an execution stands, from its current state and its job's progress.json."""

from __future__ import annotations

from aiorch.analysis.views import ProgressView
from aiorch.contracts import JOBS_FOR_OPERATION, JobKind, JobProgress, Operation

# Which job each state runs (the state machine's task names).
JOB_FOR_STATE = {
    "Upscale": JobKind.upscale,
    "Denoise": JobKind.denoise,
    "DetectText": JobKind.detect_text,
    "Inpaint": JobKind.inpaint,
}


def progress_view(
    operation: Operation, state: str | None, succeeded: bool, job_progress: JobProgress | None
) -> ProgressView:
    """The stage and percentage: each step (validate, each job, record) is an equal share of the bar."""
    if succeeded:
        return ProgressView(stage="done", done=1, total=1, percent=100.0)
    steps = ["ValidateInput", *(j.value for j in JOBS_FOR_OPERATION.get(operation, ())), "RecordResult"]
    job = JOB_FOR_STATE.get(state or "")
    progress = ProgressView(stage=state)
    if job is not None:
        fraction = 0.0
        if job_progress is not None:
            progress = ProgressView(stage=job_progress.stage, done=job_progress.done, total=job_progress.total)
            fraction = job_progress.done / job_progress.total if job_progress.total else 0.0
        position = steps.index(job.value)
    elif state == "RecordResult":
        position, fraction = len(steps) - 1, 0.5
    else:
        position, fraction = 0, 0.0
    progress.percent = round(100.0 * (position + fraction) / len(steps), 1)
    return progress
