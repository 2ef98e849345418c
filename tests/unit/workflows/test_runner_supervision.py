"""The local job runner's dispatcher never dies for good (a full disk used to end it, and with it every
later job): a round that raises is logged and the next runs, a dead thread is replaced, and a job
that failed while the disk was full says so in plain words."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tests.support import fake_job_runner, submit_fake_job, wait_final, wait_for
from workflows.local.jobs import JobRunner


def _full_disk_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first status-file write made while a job is known raises ENOSPC; returns the list the
    failures are counted in. (Not simply the first write: the dispatcher's opening write may come
    before the job is submitted, and a full disk before a job was created is not that job's cause.)"""
    real = JobRunner._write_status_file
    failures: list[int] = []

    def write(self: JobRunner) -> None:
        if not failures and self._jobs:
            failures.append(1)
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self)

    monkeypatch.setattr(JobRunner, "_write_status_file", write)
    return failures


def test_a_full_disk_at_the_status_file_does_not_end_the_dispatcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = _full_disk_once(monkeypatch)
    runner = fake_job_runner(tmp_path, warm=False)
    try:
        failed = submit_fake_job(runner, tmp_path, "first", sleep_s=0.5, fail=True)
        wait_for(lambda: failures, 10, "the status-file write to hit the full disk")
        ended = wait_final(runner, failed.job_id)
        assert ended["status"] == "FAILED"
        assert "the disk is full" in ended["statusReason"]
        # The dispatcher is the same thread, still alive, and the next job runs to its end.
        later = submit_fake_job(runner, tmp_path, "second")
        assert wait_final(runner, later.job_id)["status"] == "SUCCEEDED"
        assert (tmp_path / "states" / "jobs.json").is_file()  # written again once there was space
    finally:
        runner.shutdown()


def test_a_job_that_succeeds_despite_a_full_disk_is_not_called_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _full_disk_once(monkeypatch)
    runner = fake_job_runner(tmp_path, warm=False)
    try:
        job = submit_fake_job(runner, tmp_path, "fine", sleep_s=0.3)
        ended = wait_final(runner, job.job_id)
        assert ended["status"] == "SUCCEEDED" and "statusReason" not in ended
    finally:
        runner.shutdown()


def test_a_round_that_raises_is_logged_and_the_next_round_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = JobRunner._prune
    calls: list[int] = []

    def prune(self: JobRunner) -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in one round")
        return real(self)

    monkeypatch.setattr(JobRunner, "_prune", prune)
    monkeypatch.setattr("workflows.local.jobs.ROUND_FAILED_PAUSE_S", 0.05)
    runner = fake_job_runner(tmp_path, warm=False)
    try:
        job = submit_fake_job(runner, tmp_path, "after-a-bad-round")
        assert wait_final(runner, job.job_id)["status"] == "SUCCEEDED"
        assert "job dispatcher round failed" in caplog.text
    finally:
        runner.shutdown()


def test_a_dead_dispatcher_thread_is_replaced_by_the_next_batch_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = fake_job_runner(tmp_path, warm=False)
    try:
        # Kill the thread as an uncaught BaseException would: stop its loop, then let it run again.
        runner._stopping.set()
        runner._wake.set()
        runner._thread.join(timeout=5)
        assert not runner._thread.is_alive()
        runner._stopping.clear()
        job = submit_fake_job(runner, tmp_path, "after-the-death")  # SubmitJob restarts the dispatcher
        assert runner._thread.is_alive()
        assert wait_final(runner, job.job_id)["status"] == "SUCCEEDED"
        assert runner.ensure_running() is False  # alive: nothing to do
    finally:
        runner.shutdown()


def test_a_job_that_cannot_start_on_a_full_disk_fails_in_plain_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    runner = fake_job_runner(tmp_path, warm=False)
    try:
        monkeypatch.setattr("workflows.local.jobs.subprocess.Popen", no_space)
        job = submit_fake_job(runner, tmp_path, "no-room")
        ended = wait_final(runner, job.job_id)
        assert ended["status"] == "FAILED" and "the disk is full" in ended["statusReason"]
        monkeypatch.undo()
        later = submit_fake_job(runner, tmp_path, "room-again")
        assert wait_final(runner, later.job_id)["status"] == "SUCCEEDED"
    finally:
        runner.shutdown()
