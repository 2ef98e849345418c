"""Run the API and the built front end on one machine (``aiorch serve`` calls ``serve``).

Also runnable as ``python -m aiorch_local.server [--host H] [--port P]``
(the end-to-end tests start it that way, with AIORCH_* settings in the environment).

It supervises the local states service it started: a dead service is restarted (a bounded number
of times, with backoff, each logged) and reaped; SIGTERM stops everything as Ctrl+C does.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time

import uvicorn

from aiorch.settings import Settings, get_settings
from lambdas.api.app import create_app, is_loopback

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


class StatesSupervisor:
    """Restarts the local states service when its process dies.

    At most ``max_restarts`` restarts within ``window_s`` (a service that keeps dying is left dead,
    loudly: /readyz then says so); the wait before each restart doubles from ``backoff_s`` up to
    ``max_backoff_s``. Checking with ``pid_alive`` also reaps the dead child (no zombie).
    It checks only once the service has written its pid, and a restart counts as done only once the
    new one has (wait_for_service_pid), so no check mistakes a service still starting for a dead one.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        check_s: float = 1.0,
        max_restarts: int = 5,
        window_s: float = 600.0,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.settings = settings
        self.check_s = check_s
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.start_timeout_s = start_timeout_s
        self.restarts: list[float] = []  # monotonic times of the restarts within the window
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="states-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising; a restart under way is waited for (it is bounded by the start timeout),
        so that whoever stops the service next finds the pid of the one just started, not an
        orphan that comes up after the stop."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2 * self.start_timeout_s + 10)

    def _wait_for_pid(self, *, other_than: int | None) -> int | None:
        return wait_for_service_pid(
            self.settings, other_than=other_than, timeout_s=self.start_timeout_s, stop=self._stop
        )

    def _service_state(self) -> tuple[bool, int | None]:
        """(alive, pid the service file names)."""
        from workflows.local.client import pid_alive, service_pid

        pid = service_pid(self.settings)
        return pid is not None and pid_alive(pid), pid

    def _run(self) -> None:
        from workflows.local.client import ServiceNotReady, ensure_service

        # Supervise once the service has written its pid: until then it is starting, not dead.
        if self._wait_for_pid(other_than=None) is None and not self._stop.is_set():
            log.error("the local states service wrote no pid of a live process within %.0f s", self.start_timeout_s)
        backoff = self.backoff_s
        while not self._stop.wait(self.check_s):
            alive, dead = self._service_state()
            if alive:
                backoff = self.backoff_s
                continue
            now = time.monotonic()
            self.restarts = [t for t in self.restarts if now - t < self.window_s]
            if len(self.restarts) >= self.max_restarts:
                log.error(
                    "the local states service died %d times in %.0f s: not restarting it again; "
                    "restart `aiorch serve` once the cause is fixed (see its log under the data directory)",
                    len(self.restarts),
                    self.window_s,
                )
                return
            log.warning("the local states service (pid %s) is not running: restarting it in %.0f s", dead, backoff)
            if self._stop.wait(backoff):
                return
            self.restarts.append(time.monotonic())
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
            log.warning("the local states service was restarted as pid %d (restart %d)", pid, len(self.restarts))


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Start the states service if it is not running, then serve the API and the front end."""
    from workflows.local.client import ensure_service, service_is_up, stop_service

    # The app decides automatic sign-in from the address it really listens on.
    settings = settings.model_copy(
        update={"api_host": host or settings.api_host, "api_port": port or settings.api_port}
    )
    started_here = not service_is_up(settings)
    ensure_service(settings)
    supervisor = StatesSupervisor(settings) if started_here else None
    if supervisor is not None:
        supervisor.start()
    if not is_loopback(settings.api_host):
        log.warning("listening on %s: automatic sign-in is off; use `aiorch token`", settings.api_host)
    # uvicorn handles SIGTERM by shutting down, then restores the handler it found and raises the
    # signal again. With the default handler that kills this process before the clean-up below;
    # with this one, uvicorn.run returns and the clean-up runs, as after Ctrl+C.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_level="info")
    finally:
        # Stopping `aiorch serve` stops what it started (running jobs are recorded as
        # interrupted on the next start); a service someone else started keeps running.
        if supervisor is not None:
            supervisor.stop()
        if started_here:
            stop_service(settings)
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
