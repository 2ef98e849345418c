"""The local job runner with warm workers and with cold processes: the same contract either way.

Uses the light fake job module (tests/fakes/jobs.py), so a worker warms up in well under a second.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from aiorch.settings import Settings
from workflows.local.jobs import JobRunner, JobStatus

pytestmark = pytest.mark.functional


def _runner(tmp_path: Path, warm: bool, slots: int = 1) -> JobRunner:
    settings = Settings(data_dir=tmp_path, job_slots=slots, job_module="tests.fakes.jobs", job_workers=warm)
    runner = JobRunner(settings, stop_grace_s=2)
    runner.start()
    return runner


def _submit(runner: JobRunner, tmp_path: Path, name: str, **options: object):
    command = ["denoise", "--input", "file:///in.png", "--output", f"file://{tmp_path}/out/{name}/"]
    return runner.submit(
        name=name,
        queue="q",
        definition="d",
        command=[*command, "--options", json.dumps(options)],
        environment={"AIORCH_DATA_DIR": str(tmp_path), "AIORCH_EXECUTION_ARN": f"arn:{name}"},
    )


def _wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _final(runner: JobRunner, job_id: str, timeout_s: float = 30) -> dict:
    def done():
        (job,) = runner.describe([job_id])
        return job if JobStatus(job["status"]).is_final else None

    return _wait(done, timeout_s, f"job {job_id} to finish")


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_jobs_keep_the_contract_and_their_own_environment(tmp_path: Path, warm: bool) -> None:
    runner = _runner(tmp_path, warm)
    try:
        ok = _final(runner, _submit(runner, tmp_path, "ok").job_id)
        failed = _final(runner, _submit(runner, tmp_path, "bad", fail=True).job_id)
        again = _final(runner, _submit(runner, tmp_path, "again").job_id)
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
    runner = _runner(tmp_path, warm=True)
    try:
        doomed = _submit(runner, tmp_path, "doomed", sleep_s=30)
        pid = _wait(
            lambda: (tmp_path / "out/doomed/pid").exists() and (tmp_path / "out/doomed/pid").read_text(),
            20,
            "the job to start",
        )
        os.kill(int(pid), signal.SIGKILL)
        killed = _final(runner, doomed.job_id, timeout_s=10)
        after = _final(runner, _submit(runner, tmp_path, "after").job_id)
    finally:
        runner.shutdown()
    assert killed["status"] == "FAILED" and killed["container"]["exitCode"] == -signal.SIGKILL
    assert after["status"] == "SUCCEEDED"
    assert int((tmp_path / "out/after/pid").read_text()) != int(pid)  # a fresh worker replaced the dead one


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_stop_ends_a_running_job_within_seconds_and_a_new_job_runs(tmp_path: Path, warm: bool) -> None:
    runner = _runner(tmp_path, warm)
    try:
        running = _submit(runner, tmp_path, "running", sleep_s=60)
        _wait(lambda: (tmp_path / "out/running/pid").exists(), 20, "the job to start")
        asked = time.monotonic()
        runner.request_stop(running.job_id, "Execution ABORTED")
        stopped = _final(runner, running.job_id, timeout_s=10)
        took = time.monotonic() - asked
        after = _final(runner, _submit(runner, tmp_path, "after").job_id)
    finally:
        runner.shutdown()
    assert stopped["status"] == "FAILED" and stopped["statusReason"] == "Execution ABORTED"
    assert took < 5  # the stop grace is 2 s; a 60 s job did not run on
    assert after["status"] == "SUCCEEDED"


def test_workers_start_with_the_runner_and_end_with_it(tmp_path: Path) -> None:
    runner = _runner(tmp_path, warm=True, slots=2)
    assert runner.workers is not None
    workers = list(runner.workers.workers)
    assert len(workers) == 2
    _wait(lambda: all(w.usable and w.ready for w in workers), 20, "the workers to warm up")
    runner.shutdown()
    assert all(w.process.poll() is not None for w in workers)
