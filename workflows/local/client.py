"""Reach the local states service the way the rest of the code reaches AWS: a boto3 client.

``ensure_service`` starts the service in the background when nothing answers,
``stop_service`` ends it. The service records its pid and endpoint in
``<data_dir>/states/service.json`` and logs to ``<data_dir>/states/service.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from aiorch.settings import Settings
from aiorch.states.client import states_client


class ServiceNotReady(RuntimeError):
    """The local states service did not come up."""


def service_file(settings: Settings) -> Path:
    return settings.data_dir / "states" / "service.json"


def service_log(settings: Settings) -> Path:
    return settings.data_dir / "states" / "service.log"


def service_is_up(settings: Settings) -> bool:
    """True when the endpoint answers and the state machine exists."""
    client = states_client(settings)
    try:
        client.describe_state_machine(stateMachineArn=settings.resolved_state_machine_arn)
    except (BotoCoreError, ClientError):
        return False
    return True


def settings_env(settings: Settings) -> dict[str, str]:
    """``AIORCH_*`` variables that recreate ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, dict | list):
            text = json.dumps(value)
        else:
            text = str(value)
        env[f"AIORCH_{name.upper()}"] = text
    return env


def ensure_service(settings: Settings, timeout_s: float = 60.0) -> None:
    """Start the service in the background unless it already answers; wait until it is ready."""
    if service_is_up(settings):
        return
    service_log(settings).parent.mkdir(parents=True, exist_ok=True)
    # The settings object is the whole configuration: drop inherited AIORCH_* so they cannot disagree.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIORCH_")} | settings_env(settings)
    with open(service_log(settings), "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "workflows.local", "serve"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # detached: it outlives the command that started it
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if service_is_up(settings):
            return
        if process.poll() is not None:
            if service_is_up(settings):  # another caller's service won the port
                return
            raise ServiceNotReady(f"the local states service exited ({process.returncode}): {_log_tail(settings)}")
        time.sleep(0.2)
    raise ServiceNotReady(f"the local states service did not answer within {timeout_s:.0f} s: {_log_tail(settings)}")


def service_pid(settings: Settings) -> int | None:
    try:
        pid = json.loads(service_file(settings).read_text(encoding="utf-8"))["pid"]
    except (OSError, ValueError, KeyError):
        return None
    return int(pid)


def stop_service(settings: Settings, timeout_s: float = 15.0) -> bool:
    """SIGTERM the service (it ends its jobs), SIGKILL after ``timeout_s``. False when none was running."""
    pid = service_pid(settings)
    if pid is None or not pid_alive(pid):
        service_file(settings).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while pid_alive(pid):
            time.sleep(0.1)
    service_file(settings).unlink(missing_ok=True)
    return True


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie counts as gone (it is reaped here when it is our child)."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _log_tail(settings: Settings, lines: int = 15) -> str:
    try:
        text = service_log(settings).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
