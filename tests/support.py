"""Small helpers shared by the test suites (one copy each)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.local.jobs import JobRunner, LocalJob


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str, *, poll_s: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something true and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


# --- the local job runner over the light fake job module (tests/fakes/jobs.py) -------------------
def fake_job_runner(tmp_path: Path, *, warm: bool | None = None, slots: int = 1) -> JobRunner:
    """A started JobRunner running tests.fakes.jobs; ``warm`` None keeps the settings' default."""
    from aiorch.settings import Settings
    from workflows.local.jobs import JobRunner

    chosen: dict[str, Any] = {} if warm is None else {"job_workers": warm}
    settings = Settings(data_dir=tmp_path, job_slots=slots, job_module="tests.fakes.jobs", **chosen)
    runner = JobRunner(settings, stop_grace_s=2)
    runner.start()
    return runner


def submit_fake_job(
    runner: JobRunner, tmp_path: Path, name: str, *, with_execution_arn: bool = False, **options: object
) -> LocalJob:
    """Submit a fake denoise job writing under ``tmp_path/out/<name>/``; ``options`` go to the job
    (``sleep_s``, ``fail``). ``with_execution_arn``: its environment names execution ``arn:<name>``,
    as a state machine's job does."""
    command = ["denoise", "--input", "file:///in.png", "--output", f"file://{tmp_path}/out/{name}/"]
    environment = {"AIORCH_DATA_DIR": str(tmp_path)}
    if with_execution_arn:
        environment["AIORCH_EXECUTION_ARN"] = f"arn:{name}"
    return runner.submit(
        name=name,
        queue="q",
        definition="d",
        command=[*command, "--options", json.dumps(options)],
        environment=environment,
    )


def job_status(runner: JobRunner, job_id: str) -> dict[str, Any]:
    (job,) = runner.describe([job_id])
    return job


def wait_final(runner: JobRunner, job_id: str, timeout_s: float = 30) -> dict[str, Any]:
    """The job's DescribeJobs entry once it has ended."""
    from workflows.local.jobs import JobStatus

    def ended() -> dict[str, Any] | None:
        job = job_status(runner, job_id)
        return job if JobStatus(job["status"]).is_final else None

    return wait_for(ended, timeout_s, f"job {job_id} to finish")
