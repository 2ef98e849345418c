"""Run the API and the built front end on one machine (``aiorch serve`` calls ``serve``).

Also runnable as ``python -m aiorch_local.server [--host H] [--port P]``
(the end-to-end tests start it that way, with AIORCH_* settings in the environment).

It supervises the local states service: a dead service is restarted (with a capped backoff, each
restart logged, never giving up) and reaped; SIGTERM stops everything as Ctrl+C does.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
import uvicorn.config
from fastapi import FastAPI

from aiorch.settings import Settings, get_settings
from aiorch_local import pairing
from lambdas.api.app import create_app, is_loopback
from lambdas.api.auth import uses_local_issuer

log = logging.getLogger(__name__)


def wait_for_service_pid(
    settings: Settings, *, other_than: int | None = None, timeout_s: float = 60.0, stop: threading.Event | None = None
) -> int | None:
    """The pid in the service file once it names a live service other than ``other_than``; None
    when none has within ``timeout_s`` (or ``stop`` was set).

    The service answers (its state machine exists) a moment before it writes that file (after its
    job runner and watchdog have started), so "it answers" does not yet tell which process it is;
    liveness is checked by that pid, and a check in the gap would see the dead one's pid (or none)."""
    from workflows.local.client import pid_alive, service_pid

    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout_s
    while True:
        pid = service_pid(settings)
        if pid is not None and pid != other_than and pid_alive(pid):
            return pid
        if time.monotonic() >= deadline or stop.wait(0.1):
            return None


def supervision_file(settings: Settings) -> Path:
    """Where the supervisor says how the local states service fares (read by ``/readyz``)."""
    return settings.states_supervision_file


class StatesSupervisor:
    """Restarts the local states service when its process dies, for as long as ``aiorch serve`` runs.

    It never gives up: the wait before a restart doubles from ``states_restart_backoff_s`` after each
    restart whose service did not stay up for ``states_restart_max_backoff_s``, and stays at that cap
    while the service keeps dying (each restart logged, and said in ``supervisor.json``, which
    ``/readyz`` reports). Checking with ``pid_alive`` also reaps the dead child (no zombie).
    It checks only once the service has written its pid, and a restart counts as done only once the
    new one has (wait_for_service_pid), so no check mistakes a service still starting for a dead one.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        start_timeout_s: float = 60.0,
        on_restart: Callable[[int], None] | None = None,  # called with each new service's pid
    ) -> None:
        self.settings = settings
        self.on_restart = on_restart
        self.check_s = settings.states_supervise_check_s
        self.backoff_s = settings.states_restart_backoff_s
        self.max_backoff_s = max(settings.states_restart_max_backoff_s, self.backoff_s)
        self.start_timeout_s = start_timeout_s
        self.restarts = 0  # since this supervisor started
        self.deaths_in_a_row = 0  # deaths of services that did not stay up for max_backoff_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="states-supervisor", daemon=True)
        self._report_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising; a restart under way is waited for (it is bounded by the start timeout),
        so that whoever stops the service next finds the pid of the one just started, not an
        orphan that comes up after the stop."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2 * self.start_timeout_s + 10)
        supervision_file(self.settings).unlink(missing_ok=True)

    def _wait_for_pid(self, *, other_than: int | None) -> int | None:
        return wait_for_service_pid(
            self.settings, other_than=other_than, timeout_s=self.start_timeout_s, stop=self._stop
        )

    def _service_state(self) -> tuple[bool, int | None]:
        """(alive, pid the service file names)."""
        from workflows.local.client import pid_alive, service_pid

        pid = service_pid(self.settings)
        return pid is not None and pid_alive(pid), pid

    def _report(self, state: str, message: str, **extra: Any) -> None:
        """Say how the service fares in supervisor.json (a failed write is logged once, not fatal)."""
        info = {
            "supervisor_pid": os.getpid(),
            "state": state,
            "message": message,
            "restarts": self.restarts,
            "deaths_in_a_row": self.deaths_in_a_row,
            "at": datetime.now(UTC).isoformat(),
        } | extra
        path = supervision_file(self.settings)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
            tmp.replace(path)
            self._report_error = None
        except OSError as exc:
            if str(exc) != self._report_error:
                log.error("cannot write %s: %s", path, exc)
                self._report_error = str(exc)

    def _run(self) -> None:
        from workflows.local.client import ServiceNotReady, ensure_service

        # Supervise once the service has written its pid: until then it is starting, not dead.
        if self._wait_for_pid(other_than=None) is None and not self._stop.is_set():
            log.error("the local states service wrote no pid of a live process within %.0f s", self.start_timeout_s)
        backoff = self.backoff_s
        up_since = time.monotonic()
        self._report("up", "the local states service runs")
        while not self._stop.wait(self.check_s):
            alive, dead = self._service_state()
            if alive:
                if self.deaths_in_a_row and time.monotonic() - up_since >= self.max_backoff_s:
                    backoff, self.deaths_in_a_row = self.backoff_s, 0  # it lasted: the next death waits little
                continue
            self.deaths_in_a_row += 1
            if self.deaths_in_a_row > 1:
                message = (
                    f"the local states service keeps dying ({self.deaths_in_a_row} times in a row, "
                    f"{self.restarts} restarts so far): restarting it again in {backoff:.0f} s "
                    f"(waits double up to {self.max_backoff_s:.0f} s; see its log under the data directory)"
                )
                log.error("%s", message)
            else:
                message = f"the local states service (pid {dead}) is not running: restarting it in {backoff:.0f} s"
                log.warning("%s", message)
            self._report("restarting", message, next_restart_in_s=backoff)
            if self._stop.wait(backoff):
                return
            self.restarts += 1
            backoff = min(backoff * 2, self.max_backoff_s)
            try:
                ensure_service(self.settings, timeout_s=self.start_timeout_s)
            except ServiceNotReady as exc:
                log.error("restarting the local states service failed: %s", exc)
                continue
            pid = self._wait_for_pid(other_than=dead)
            if pid is None:
                if self._stop.is_set():
                    return
                log.error(
                    "the local states service answers but wrote no pid of a live process within %.0f s",
                    self.start_timeout_s,
                )
                continue
            up_since = time.monotonic()
            log.warning("the local states service was restarted as pid %d (restart %d)", pid, self.restarts)
            self._report("up", f"the local states service runs again (restart {self.restarts})", pid=pid)
            if self.on_restart is not None:
                self.on_restart(pid)


# A link's token is its credential (a signed upload or download, an OAuth code): the access log
# keeps the route, never the token.
_SECRET_PATH_PART = re.compile(r"(/(?:downloads|local-uploads|pair)/)[^/?#\s]+")
_SECRET_QUERY = re.compile(r"([?&](?:code|state|token|access_token|refresh_token)=)[^&#\s]*")


def redact_link_tokens(path: str) -> str:
    return _SECRET_QUERY.sub(r"\1…", _SECRET_PATH_PART.sub(r"\1…", path))


class RedactLinkTokens(logging.Filter):
    """uvicorn's access records carry (client, method, path, http version, status) as their args."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            record.args = (*record.args[:2], redact_link_tokens(record.args[2]), *record.args[3:])
        return True


def access_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, its access handler filtered by RedactLinkTokens."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_link_tokens"] = {"()": RedactLinkTokens}
    config["handlers"]["access"]["filters"] = ["redact_link_tokens"]
    return config


def owner_file(settings: Settings) -> Path:
    """Which ``aiorch serve`` owns the running states service (it stops it when it stops)."""
    return settings.data_dir / "states" / "serve.json"


def _left_by_a_dead_serve(settings: Settings, service: int | None) -> int | None:
    """The pid of a killed ``aiorch serve`` that owned ``service``, else None."""
    from workflows.local.client import pid_alive

    try:
        owner = json.loads(owner_file(settings).read_text(encoding="utf-8"))
        serve_pid, owned = int(owner["pid"]), owner.get("service_pid")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if service is None or owned != service or serve_pid == os.getpid() or pid_alive(serve_pid):
        return None
    return serve_pid


def _claim(settings: Settings, service: int | None) -> None:
    path = owner_file(settings)
    try:
        path.write_text(json.dumps({"pid": os.getpid(), "service_pid": service}), encoding="utf-8")
    except OSError as exc:
        log.error("cannot write %s: %s", path, exc)


def start_pairing(app: FastAPI, settings: Settings) -> str:
    """Serve pairing in ``app``, note the address it is served at (for `aiorch pair`), and return a first
    pairing link."""
    store = pairing.install(app, settings)
    base = pairing.link_base(settings.api_host, settings.api_port)
    try:
        pairing.base_file(settings).write_text(base + "\n", encoding="utf-8")
    except OSError as exc:
        log.error("cannot write %s (aiorch pair will use the settings' address): %s", pairing.base_file(settings), exc)
    return pairing.pairing_link(base, store.new_code())


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Start the states service if it is not running (or adopt the one running), then serve the API
    and the front end."""
    from workflows.local.client import ensure_service, service_is_up, service_pid, stop_service

    # The app decides automatic sign-in from the address it really listens on.
    settings = settings.model_copy(
        update={"api_host": host or settings.api_host, "api_port": port or settings.api_port}
    )
    started_here = not service_is_up(settings)
    ensure_service(settings)
    # A service found running is supervised too. One that a killed `aiorch serve` started is adopted
    # as its own: it is stopped with this one, as the dead one would have done.
    found = None if started_here else service_pid(settings)
    dead_owner = _left_by_a_dead_serve(settings, found)
    owned = started_here or dead_owner is not None
    if dead_owner is not None:
        log.warning(
            "adopted the local states service (pid %s) that `aiorch serve` pid %d left running", found, dead_owner
        )
    elif not started_here:
        log.info("supervising the local states service already running (pid %s); it keeps running after", found)
    if owned:
        _claim(settings, wait_for_service_pid(settings, timeout_s=10) if started_here else found)
    supervisor = StatesSupervisor(settings, on_restart=(lambda pid: _claim(settings, pid)) if owned else None)
    supervisor.start()
    if not is_loopback(settings.api_host):
        log.warning(
            "listening on %s: automatic sign-in is off; open the pairing link below on each device",
            settings.api_host,
        )
    # uvicorn handles SIGTERM by shutting down, then restores the handler it found and raises the
    # signal again. With the default handler that kills this process before the clean-up below;
    # with this one, uvicorn.run returns and the clean-up runs, as after Ctrl+C.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        app = create_app(settings)
        if uses_local_issuer(settings):  # with Cognito, its Hosted UI signs every device in
            print(pairing.pairing_message(start_pairing(app, settings)), flush=True)
        uvicorn.run(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_level="info",
            log_config=access_log_config(),
        )
    finally:
        # Stopping `aiorch serve` stops what it owns (running jobs are recorded as interrupted on
        # the next start); a service someone else started keeps running.
        supervisor.stop()
        if owned:
            stop_service(settings)
            owner_file(settings).unlink(missing_ok=True)
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(get_settings(), args.host, args.port)


if __name__ == "__main__":
    main()
