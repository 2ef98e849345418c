"""The local job runner fails a job still waiting for a slot past gpu_wait_limit_s, as the deployment's
Batch queue cancels a job kept RUNNABLE past queue_start_allowance_s; no process is started here, the
runner's rounds are run by hand."""

from __future__ import annotations

import re
import time
from pathlib import Path

from aiorch.settings import Settings
from workflows.local.jobs import JobRunner, JobStatus, LocalJob

BATCH_VARIABLES_TF = Path(__file__).resolve().parents[3] / "iac" / "modules" / "batch" / "variables.tf"


class StillRunning:
    """A job process that has not ended (what ``JobRunner._check_running`` polls)."""

    pid = None

    def poll(self) -> int | None:
        return None


def runner_with_its_slot_taken(tmp_path: Path, gpu_wait_limit_s: float) -> JobRunner:
    runner = JobRunner(Settings(data_dir=tmp_path, job_slots=1, job_workers=False, gpu_wait_limit_s=gpu_wait_limit_s))
    holder = submit(runner, "holder")
    holder.status, holder.process = JobStatus.RUNNING, StillRunning()  # type: ignore[assignment]
    runner._queue.remove(holder.job_id)
    return runner


def submit(runner: JobRunner, user: str) -> LocalJob:
    environment = {"AIORCH_USER": user}
    return runner.submit(name=user, queue="q", definition="d", command=["upscale"], environment=environment)


def dispatch_round(runner: JobRunner) -> None:
    with runner._lock:
        runner._tick()


def test_a_job_queued_past_the_limit_fails_saying_why_and_never_starts(tmp_path: Path) -> None:
    runner = runner_with_its_slot_taken(tmp_path, gpu_wait_limit_s=60)
    waiting = submit(runner, "waiter")
    dispatch_round(runner)
    assert waiting.status is JobStatus.RUNNABLE  # within the limit it waits

    waiting.queued_since = time.monotonic() - 61  # a minute and a second in the queue
    dispatch_round(runner)
    assert waiting.status is JobStatus.FAILED and waiting.started_at is None and waiting.pid is None
    assert waiting.status_reason == "waited more than 60 s for a free GPU; try again later"
    assert waiting.describe()["statusReason"] == waiting.status_reason  # what the execution's failure reads
    assert waiting.job_id not in runner._queue
    assert [j.job_name for j in runner.active_jobs()] == ["holder"]


def test_a_job_past_the_limit_that_gets_a_free_slot_in_the_same_round_runs(tmp_path: Path) -> None:
    runner = JobRunner(Settings(data_dir=tmp_path, job_slots=1, job_workers=False, gpu_wait_limit_s=60))
    runner.python = "/bin/true"  # the job process itself does not matter here, only that it starts
    runner.log_dir.mkdir(parents=True)
    late = submit(runner, "waiter")
    late.queued_since = time.monotonic() - 61
    dispatch_round(runner)
    assert late.status is JobStatus.RUNNING and late.started_at is not None, late.status_reason
    runner.shutdown()


def test_the_local_limit_defaults_to_the_batch_queues_allowance() -> None:
    """One figure for how long a job may wait for a GPU, locally and in AWS (jobStateTimeLimitActions)."""
    source = BATCH_VARIABLES_TF.read_text(encoding="utf-8")
    block = re.search(r'variable\s+"queue_start_allowance_s"\s*\{(.*?)\n\}', source, re.S)
    default = re.search(r"default\s*=\s*([0-9.]+)", block.group(1)) if block else None
    assert default is not None, f"no queue_start_allowance_s default in {BATCH_VARIABLES_TF}"
    assert Settings.model_fields["gpu_wait_limit_s"].default == float(default.group(1))
    # Locally the job task's TimeoutSeconds (job_timeout_s) counts the wait too: the limit must come first.
    assert Settings.model_fields["gpu_wait_limit_s"].default < Settings.model_fields["job_timeout_s"].default
