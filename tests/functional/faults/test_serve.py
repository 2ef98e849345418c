"""`aiorch serve` supervises the states service it started and stops everything on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from aiorch.settings import Settings
from tests.functional.workflows.states_harness import make_settings
from tests.support import free_port, wait_for
from workflows.local.client import pid_alive, service_pid, settings_env

pytestmark = [pytest.mark.functional, pytest.mark.slow]


def readyz(port: int) -> tuple[int, dict[str, Any]] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())
    except OSError:
        return None  # not listening yet


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # As a restarted server binds: connections of the old one in TIME_WAIT do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def live_service_pid(settings: Settings, other_than: int | None = None) -> int | None:
    pid = service_pid(settings)
    return pid if pid is not None and pid != other_than and pid_alive(pid) else None


def test_serve_restarts_a_dead_states_service_and_sigterm_stops_everything(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIORCH_")} | settings_env(settings)
    server = subprocess.Popen(
        [sys.executable, "-m", "aiorch_local.server", "--host", "127.0.0.1", "--port", str(api_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    try:
        wait_for(lambda: (r := readyz(api_port)) and r[0] == 200, 120, "aiorch serve to be ready")
        first = wait_for(lambda: live_service_pid(settings), 60, "the service to write its pid")

        os.kill(first, signal.SIGKILL)
        # While it is down, readiness says which part is down, with a non-200 status.
        _, body = wait_for(lambda: (r := readyz(api_port)) and r[0] == 503 and r, 30, "readyz to report 503")
        assert body["states"]["status"] == "down" and body["states"]["reason"]
        assert body["storage"]["status"] == "up"
        # The supervisor restarts it, and reaps the dead one (no zombie left under `aiorch serve`).
        wait_for(lambda: (r := readyz(api_port)) and r[0] == 200, 120, "the states service to be restarted")
        # Ready (its state machine answers) comes a moment before the new service writes its pid,
        # and before the supervisor, polling too, logs the restart: wait for each, do not read once.
        second = wait_for(lambda: live_service_pid(settings, other_than=first), 60, "the new service's pid")
        wait_for(lambda: not Path(f"/proc/{first}").exists(), 10, f"the dead service {first} to be reaped")
        log = wait_for(
            lambda: f"restarted as pid {second}" in (text := (tmp_path / "serve.log").read_text()) and text,
            30,
            "the supervisor to log the restart",
        )
        assert log.count("was restarted") == 1  # one kill, one restart: no restart of a service still starting

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) is not None
        wait_for(lambda: not pid_alive(second), 30, "the states service to stop with aiorch serve")
        wait_for(lambda: port_is_free(api_port) and port_is_free(settings.states_port), 10, "both ports to be free")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        pid = service_pid(settings)
        if pid is not None and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def start_serve(settings: Settings, api_port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIORCH_")} | settings_env(settings)
    return subprocess.Popen(
        [sys.executable, "-m", "aiorch_local.server", "--host", "127.0.0.1", "--port", str(api_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),  # closed with the process
    )


def test_a_restarted_serve_adopts_the_service_a_killed_one_left_and_says_it_restarts_it(tmp_path: Path) -> None:
    # A pause long enough to see in /readyz (its answer is cached 2 s).
    settings = make_settings(tmp_path).model_copy(update={"states_restart_backoff_s": 4.0})
    api_port = free_port()
    log = tmp_path / "serve.log"
    first = start_serve(settings, api_port, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: (r := readyz(api_port)) and r[0] == 200, 120, "aiorch serve to be ready")
        service = wait_for(lambda: live_service_pid(settings), 60, "the service to write its pid")
        first.kill()  # `aiorch serve` itself dies; the service it started lives on
        first.wait()
        assert pid_alive(service)

        second = start_serve(settings, api_port, log)
        wait_for(lambda: (r := readyz(api_port)) and r[0] == 200, 120, "the new aiorch serve to be ready")
        wait_for(lambda: "adopted the local states service" in log.read_text(), 30, "the adoption to be logged")
        assert live_service_pid(settings) == service  # adopted, not replaced

        os.kill(service, signal.SIGKILL)  # the adopted service is supervised like one started here
        _, body = wait_for(
            lambda: (r := readyz(api_port)) and r[0] == 503 and "supervisor" in r[1]["states"] and r,
            30,
            "readyz to say the supervisor restarts it",
        )
        assert "restarting it in 4 s" in body["states"]["supervisor"]
        assert "http://" not in json.dumps(body)  # no internal endpoint in the 503
        wait_for(lambda: (r := readyz(api_port)) and r[0] == 200, 120, "the adopted service to be restarted")
        restarted = wait_for(lambda: live_service_pid(settings, other_than=service), 60, "the new service's pid")

        second.send_signal(signal.SIGTERM)  # it owns the service now: it stops it, as the dead one would have
        assert second.wait(timeout=60) is not None
        wait_for(lambda: not pid_alive(restarted), 30, "the states service to stop with aiorch serve")
    finally:
        for server in (first, second):
            if server is not None and server.poll() is None:
                server.kill()
                server.wait()
        pid = service_pid(settings)
        if pid is not None and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
