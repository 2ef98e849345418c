"""Small helpers shared by the test suites (one copy each)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from aiorch.settings import Settings
    from workflows.local.jobs import JobRunner, LocalJob

REPO = Path(__file__).resolve().parents[1]


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


@contextmanager
def states_service_running(settings: Settings, timeout_s: float = 90) -> Iterator[Settings]:
    """The local states service of ``settings``, started for a test module and stopped after it."""
    from workflows.local.client import ensure_service, stop_service

    ensure_service(settings, timeout_s=timeout_s)
    try:
        yield settings
    finally:
        stop_service(settings)


def api_client(settings: Settings) -> TestClient:
    """The API app in process, over the local stack ``settings`` names."""
    from fastapi.testclient import TestClient

    from aiorch.analysis import AnalysisService
    from lambdas.api.app import create_app

    return TestClient(create_app(settings, AnalysisService(settings)))


@contextmanager
def local_server(
    data_dir: Path, log_name: str, *, timeout_s: float = 180, env: dict[str, str] | None = None
) -> Iterator[tuple[str, Settings, Path]]:
    """``aiorch serve`` (the API and the states service it starts) as a subprocess on free ports,
    ready once ``/readyz`` answers 200; yields its URL, its settings and its log. Stopped with
    SIGTERM, as a user's Ctrl+C or a service manager would. ``env``: variables for the server (an
    ``AIORCH_JOB_MODULE``, say), set last, over the inherited environment (stripped of AIORCH_*)."""
    import pytest

    from aiorch.settings import Settings
    from workflows.local.client import stop_service

    port, states_port = free_port(), free_port()
    settings = Settings(data_dir=data_dir, api_port=port, states_port=states_port)
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("AIORCH_")} | {
        "AIORCH_DATA_DIR": str(data_dir),
        "AIORCH_STATES_PORT": str(states_port),
    }
    server_env |= env or {}
    log = data_dir / log_name
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "aiorch_local.server", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=server_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:  # not listening yet, or 503 while the states service starts
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the local server did not get ready: {log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, settings, log
    finally:
        server.terminate()  # SIGTERM: the server stops the states service it started
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        stop_service(settings)  # in case the server died before it could
