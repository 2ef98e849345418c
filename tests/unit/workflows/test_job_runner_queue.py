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


def test_users_take_turns_b_runs_second_not_fifth(runner: JobRunner) -> None:
    """User A submits four jobs, user B one after them: with one slot, B's runs second (it ran fifth, FIFO)."""
    for n in range(1, 5):
        submit(runner, "alice", f"a{n}")
    submit(runner, "bob", "b1")
    assert run_all(runner) == ["a1", "b1", "a2", "a3", "a4"]


def test_turns_interleave_and_each_users_jobs_keep_their_order(runner: JobRunner) -> None:
    for name in ("a1", "a2", "a3"):
        submit(runner, "alice", name)
    for name in ("b1", "b2"):
        submit(runner, "bob", name)
    submit(runner, "carol", "c1")
    assert run_all(runner) == ["a1", "b1", "c1", "a2", "b2", "a3"]


def test_a_user_arriving_later_is_not_behind_everyone_served_before(runner: JobRunner) -> None:
    submit(runner, "alice", "a1")
    submit(runner, "alice", "a2")
    runner._round()  # a1 starts
    end_running(runner)
    submit(runner, "alice", "a3")
    submit(runner, "bob", "b1")
    assert run_all(runner) == ["a1", "b1", "a2", "a3"]


def test_the_local_hooks_take_a_share_identifier_and_queue_the_job(tmp_path: Path) -> None:
    """The ASL's SubmitJob carries ShareIdentifier (fair share in AWS); the local hooks accept it."""
    import botocore.session

    from workflows.local.dispatch import Dispatch
    from workflows.local.hooks import LocalDispatchHooks

    model = botocore.session.get_session().get_service_model("batch").operation_model("SubmitJob")
    runner = JobRunner(Settings(data_dir=tmp_path, job_workers=False))
    hooks = LocalDispatchHooks(Dispatch(), runner, region="us-east-1", lambda_timeout_s=5)
    queue, definition = next(iter(Dispatch().job_queues)), next(iter(Dispatch().job_definitions))
    params = {
        "JobName": "e-upscale",
        "JobQueue": queue,
        "JobDefinition": definition,
        "ShareIdentifier": "0123abcd",
        "ContainerOverrides": {"Command": ["upscale", "--input", "x"]},
    }
    context: dict = {}
    hooks.keep_boto_params(params, model, context)
    assert context["aiorch_params"]["shareIdentifier"] == "0123abcd"
    _, answer = hooks.submit_job(context)
    assert runner.describe([answer["JobId"]])[0]["status"] == "RUNNABLE"
