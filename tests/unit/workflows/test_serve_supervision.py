"""`aiorch serve`'s supervisor never gives up on the local states service: it keeps restarting a
service that keeps dying, with a capped backoff from the settings, and says so in its log and in
supervisor.json (which /readyz reports). A service left by a killed `aiorch serve` is adopted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aiorch.settings import Settings
from aiorch_local import server
from aiorch_local.server import StatesSupervisor, supervision_file
from tests.support import wait_for


class DyingService:
    """A states service that dies right after each start has been seen alive once."""

    def __init__(self) -> None:
        self.pid = 100_000
        self.seen: set[int] = set()
        self.starts = 0

    def service_pid(self, settings: Settings) -> int:
        return self.pid

    def pid_alive(self, pid: int) -> bool:
        if pid != self.pid or pid in self.seen:
            return False
        self.seen.add(pid)
        return True

    def ensure_service(self, settings: Settings, timeout_s: float = 60.0) -> None:
        self.starts += 1
        self.pid += 1


def test_a_service_that_keeps_dying_is_restarted_past_any_count_with_a_capped_backoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = DyingService()
    for name in ("service_pid", "pid_alive", "ensure_service"):
        monkeypatch.setattr(f"workflows.local.client.{name}", getattr(fake, name))
    settings = Settings(
        data_dir=tmp_path,
        states_restart_backoff_s=0.01,
        states_restart_max_backoff_s=0.04,
        states_supervise_check_s=0.01,
    )
    reports: list[dict[str, Any]] = []
    real_report = StatesSupervisor._report

    def report(self: StatesSupervisor, state: str, message: str, **extra: Any) -> None:
        reports.append({"state": state, "message": message, **extra})
        real_report(self, state, message, **extra)

    monkeypatch.setattr(StatesSupervisor, "_report", report)
    restarted: list[int] = []
    supervisor = StatesSupervisor(settings, start_timeout_s=2, on_restart=restarted.append)
    supervisor.start()
    try:
        wait_for(lambda: fake.starts >= 8, 20, "eight restarts (the old supervisor stopped at five)")
        on_disk = json.loads(supervision_file(settings).read_text())
    finally:
        supervisor.stop()
    waits = [r["next_restart_in_s"] for r in reports if r["state"] == "restarting"]
    assert waits[:4] == [0.01, 0.02, 0.04, 0.04]  # doubled, then capped
    assert max(waits) == 0.04
    assert restarted[:3] == [100_001, 100_002, 100_003]
    assert "keeps dying" in caplog.text
    assert on_disk["supervisor_pid"] == os.getpid() and on_disk["restarts"] >= 1
    assert not supervision_file(settings).exists()  # removed when supervision stops


def test_the_backoff_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        Settings(states_restart_backoff_s=0)
    with pytest.raises(ValueError):
        Settings(states_restart_max_backoff_s=-1)


def test_a_service_left_by_a_killed_serve_is_adopted_only_when_that_serve_is_dead(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    (tmp_path / "states").mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    server.owner_file(settings).write_text(json.dumps({"pid": dead.pid, "service_pid": 4242}))
    assert server._left_by_a_dead_serve(settings, 4242) == dead.pid
    assert server._left_by_a_dead_serve(settings, 4343) is None  # a service it did not start
    assert server._left_by_a_dead_serve(settings, None) is None
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        server.owner_file(settings).write_text(json.dumps({"pid": alive.pid, "service_pid": 4242}))
        assert server._left_by_a_dead_serve(settings, 4242) is None  # its owner still runs
    finally:
        alive.kill()
        alive.wait()
