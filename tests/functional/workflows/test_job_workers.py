"""The local job runner with warm workers and with cold processes: the same contract either way.

Uses the light fake job module (tests/fakes/jobs.py), so a worker warms up in well under a second.
"""

from __future__ import annotations

import json
import os
import signal
import time
from functools import partial
from pathlib import Path

import pytest

from tests.support import fake_job_runner, submit_fake_job, wait_final, wait_for

pytestmark = pytest.mark.functional


# Each job names its execution (arn:<name>), as the state machine's jobs do: the first test checks
# that a warm worker gives every job its own environment.
submit = partial(submit_fake_job, with_execution_arn=True)


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_jobs_keep_the_contract_and_their_own_environment(tmp_path: Path, warm: bool) -> None:
    runner = fake_job_runner(tmp_path, warm=warm)
    try:
        ok = wait_final(runner, submit(runner, tmp_path, "ok").job_id)
        failed = wait_final(runner, submit(runner, tmp_path, "bad", fail=True).job_id)
        again = wait_final(runner, submit(runner, tmp_path, "again").job_id)
    finally:
        runner.shutdown()
    assert ok["status"] == "SUCCEEDED" and ok["container"]["exitCode"] == 0
    assert failed["status"] == "FAILED" and failed["container"]["exitCode"] == 3
    assert "exited with code 3" in failed["statusReason"]
    assert json.loads((tmp_path / "out/bad/error.json").read_text())["type"] == "FakeJobFailed"
    assert "fake denoise job failed" in Path(failed["container"]["logStreamName"]).read_text()
    assert "fake denoise job failed" not in Path(again["container"]["logStreamName"]).read_text()
    assert again["status"] == "SUCCEEDED"
    assert (tmp_path / "out/again/result.txt").exists()
    calls = [json.loads(line) for line in (tmp_path / "fake_calls.jsonl").read_text().splitlines()]
    started = [c for c in calls if c.get("kind") == "job_started"]
    assert [c["execution"] for c in started] == ["arn:ok", "arn:bad", "arn:again"]  # each job its own env
    pids = {int((tmp_path / f"out/{name}/pid").read_text()) for name in ("ok", "bad", "again")}
    assert len(pids) == (1 if warm else 3)  # warm: one worker ran all three


def test_a_killed_worker_fails_only_its_job_and_the_next_job_runs(tmp_path: Path) -> None:
    runner = fake_job_runner(tmp_path, warm=True)
    try:
        doomed = submit(runner, tmp_path, "doomed", sleep_s=30)
        pid = wait_for(
            lambda: (tmp_path / "out/doomed/pid").exists() and (tmp_path / "out/doomed/pid").read_text(),
            20,
            "the job to start",
        )
        os.kill(int(pid), signal.SIGKILL)
        killed = wait_final(runner, doomed.job_id, timeout_s=10)
        after = wait_final(runner, submit(runner, tmp_path, "after").job_id)
    finally:
        runner.shutdown()
    assert killed["status"] == "FAILED" and killed["container"]["exitCode"] == -signal.SIGKILL
    assert after["status"] == "SUCCEEDED"
    assert int((tmp_path / "out/after/pid").read_text()) != int(pid)  # a fresh worker replaced the dead one


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_stop_ends_a_running_job_within_seconds_and_a_new_job_runs(tmp_path: Path, warm: bool) -> None:
    runner = fake_job_runner(tmp_path, warm=warm)
    try:
        running = submit(runner, tmp_path, "running", sleep_s=60)
        wait_for(lambda: (tmp_path / "out/running/pid").exists(), 20, "the job to start")
        asked = time.monotonic()
        runner.request_stop(running.job_id, "Execution ABORTED")
        stopped = wait_final(runner, running.job_id, timeout_s=10)
        took = time.monotonic() - asked
        after = wait_final(runner, submit(runner, tmp_path, "after").job_id)
    finally:
        runner.shutdown()
    assert stopped["status"] == "FAILED" and stopped["statusReason"] == "Execution ABORTED"
    assert took < 5  # the stop grace is 2 s; a 60 s job did not run on
    assert after["status"] == "SUCCEEDED"


def test_workers_start_with_the_runner_and_end_with_it(tmp_path: Path) -> None:
    runner = fake_job_runner(tmp_path, warm=True, slots=2)
    assert runner.workers is not None
    workers = list(runner.workers.workers)
    assert len(workers) == 2
    wait_for(lambda: all(w.usable and w.ready for w in workers), 20, "the workers to warm up")
    runner.shutdown()
    assert all(w.process.poll() is not None for w in workers)
