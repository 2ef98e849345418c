"""A job failed before it ever started (it waited too long for a GPU) is recorded with its reason alone:
not "the job ended without reporting an error", which is for a job that ran and died without saying why."""

from __future__ import annotations

import json
from pathlib import Path

from aiorch.job_exit import batch_job_failure
from lambdas.records import ended_job_failure
from workflows.local.jobs import JobStatus, LocalJob, gpu_wait_reason

MISLEADING = "the job ended without reporting an error"


def test_the_local_runners_gpu_wait_failure_is_recorded_as_its_reason(tmp_path: Path) -> None:
    # The job as the local runner describes it once its GPU wait limit failed it: never started.
    job = LocalJob(
        job_id="j1",
        job_name="e1-denoise",
        job_queue="local",
        job_definition="local",
        command=["denoise", "--input", "s3://b/in.png"],
        environment={},
        log_path=tmp_path / "j1.log",
        status=JobStatus.FAILED,
        status_reason=gpu_wait_reason(2.0),
    )
    cause = json.dumps(job.describe())  # the failed .sync task's cause: the job's description
    assert ended_job_failure({"Error": "States.TaskFailed", "Cause": cause}) == (
        "JobNotStarted",
        "denoise: waited more than 2 s for a free GPU; try again later",
    )


def test_only_a_job_that_never_started_loses_the_ended_without_an_error_words() -> None:
    # AWS's casing: Batch's job state time limit cancelled it while RUNNABLE (no StartedAt, no container end).
    queued = {"JobName": "x", "StatusReason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", "Container": {}}
    assert batch_job_failure(queued) == ("JobNotStarted", "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY")
    # Started, then gone with no exit code (its host went away): it did end without reporting an error.
    started = {"StatusReason": "Host EC2 terminated", "StartedAt": 1_700_000_000_000, "Container": {}}
    assert batch_job_failure(started) == ("JobEnded", f"{MISLEADING}: Host EC2 terminated")
    # An exit code is an end, whatever the description lacks.
    exited = {"statusReason": "Essential container in task exited", "container": {"exitCode": 1}}
    assert batch_job_failure(exited)[1].startswith(MISLEADING)  # type: ignore[index]
