"""The local job runner's queue, without starting a process: what it tells the index, and whom it serves next."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiorch.settings import Settings
from workflows.local.jobs import JobRunner, JobStatus, LocalJob


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JobRunner:
    runner = JobRunner(Settings(data_dir=tmp_path, job_slots=1, job_workers=False))
    started: list[LocalJob] = []

    def start(job: LocalJob) -> None:  # no process: the job is RUNNING until the test ends it
        job.status = JobStatus.RUNNING
        started.append(job)

    monkeypatch.setattr(runner, "_start", start)
    runner.started = started  # type: ignore[attr-defined]
    return runner


def submit(runner: JobRunner, user: str, name: str) -> LocalJob:
    return runner.submit(
        name=name,
        queue="q",
        definition="d",
        command=["upscale", "--input", f"s3://b/{name}"],
        environment={"AIORCH_USER": user, "AIORCH_EXECUTION_ARN": f"arn:aws:states:r:a:execution:m:{name}"},
    )


def end_running(runner: JobRunner) -> None:
    for job in runner.active_jobs():
        if job.status is JobStatus.RUNNING:
            runner._finish(job, 0, None)


def run_all(runner: JobRunner) -> list[str]:
    while any(j.status is JobStatus.RUNNABLE for j in runner.active_jobs()) or runner.active_jobs():
        runner._round()
        end_running(runner)
    return [job.job_name for job in runner.started]  # type: ignore[attr-defined]


def test_each_job_is_told_queued_then_running_outside_the_lock(runner: JobRunner) -> None:
    told: list[tuple[str, str, bool]] = []
    runner.on_job_status = lambda job, status: told.append((job.job_name, status, runner._lock.locked()))
    submit(runner, "alice", "a1")
    assert told == [("a1", "RUNNABLE", False)]
    runner._round()
    assert told == [("a1", "RUNNABLE", False), ("a1", "RUNNING", False)]


def test_a_failing_status_writer_does_not_stop_the_job(runner: JobRunner) -> None:
    def broken(job: LocalJob, status: str) -> None:
        raise OSError("the index is gone")

    runner.on_job_status = broken
    job = submit(runner, "alice", "a1")
    runner._round()
    assert job.status is JobStatus.RUNNING
