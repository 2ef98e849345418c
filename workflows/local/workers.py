"""Warm job workers for the local job runner: one ``python -m jobs.worker`` process per job slot.

A cold job pays about 13 s before its first pixel (Python, torch, deepinv or
spandrel, the model); a worker pays that once and then runs job after job with
the job contract of ``python -m jobs`` (jobs/worker.py). The runner treats a
worker's job like a job process: ``WorkerJob`` has the ``poll``/``wait``/``pid``
of a ``subprocess.Popen``, and the pid is the worker's process group, so a stop
is the same SIGTERM-then-SIGKILL as for a cold job. A worker that dies (killed,
crashed, stopped, or retired for memory) fails only the job it held and is
replaced by a fresh one in the background.

Workers are started through the same PR_SET_PDEATHSIG launcher as cold jobs,
so they die with the service even when it is killed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiorch.settings import Settings

# Sets PR_SET_PDEATHSIG (Linux), then becomes the job. Runs as `python -c` so no preexec_fn
# (unsafe in a threaded process) is needed.
_LAUNCHER = """\
import ctypes, os, signal, sys
prctl = getattr(ctypes.CDLL(None), "prctl", None)
if prctl is not None:
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(137)  # the service died before prctl took hold
os.execv(sys.argv[2], sys.argv[2:])
"""

MIB = 1024 * 1024


def launcher_argv(python: str, args: list[str]) -> list[str]:
    """argv that runs ``python *args`` as a child that dies with this process."""
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), python, *args]


def spawn_time_env() -> dict[str, str]:
    """The environment that tells a process when it was started (Settings.job_spawned_at): it cannot time
    its own start, so its metadata's timings_s.startup runs from this."""
    return {"AIORCH_JOB_SPAWNED_AT": repr(time.time())}


def thread_env(slots: int) -> dict[str, str]:
    """How a job's CPU thread pool waits. Each job's torch takes every core, and OpenMP's threads spin
    while they wait, so jobs side by side thrashed: on 2 cores two 10-image batch jobs side by side took
    4.0 s where one 20-image job took 1.5 s. Passive waiting keeps all the cores for a job alone (x4plus
    96 px: 1.51 s, 1.33 s spinning, 2.57 s on half the cores) and stops the thrashing when ``slots`` jobs
    share them (20 requests 5.4 s -> 3.0 s, a 20-image batch 4.5 s -> 1.4 s). The operator's own
    setting is kept."""
    if slots < 2 or "OMP_WAIT_POLICY" in os.environ:
        return {}
    return {"OMP_WAIT_POLICY": "PASSIVE"}


def default_max_rss_mb(slots: int) -> float:
    """The machine's memory shared between the slots: what one worker may hold (torch plus its models)."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return total / slots / MIB


class WarmWorker:
    """One worker process and its answer channel (read without blocking from the dispatcher thread)."""

    def __init__(self, python: str, module: str, max_rss_mb: float, log_path: Path, slots: int = 1) -> None:
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                launcher_argv(python, ["-m", "jobs.worker", module, str(max_rss_mb)]),
                # Its share of the cores; it reports its own start-up from the spawn time.
                env={**os.environ, **thread_env(slots), **spawn_time_env()},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # own process group: a stop signals the worker and anything it started
            )
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)
        self._buffer = b""
        self.ready: dict[str, Any] | None = None
        self.job: WorkerJob | None = None
        self.retiring = False

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def usable(self) -> bool:
        """Alive, holding no job, and not about to exit after its last one."""
        self.read_answers()
        return self.job is None and not self.retiring and self.process.poll() is None

    def run(self, command: list[str], environment: dict[str, str], log_path: Path) -> WorkerJob:
        job = WorkerJob(self)
        self.job = job
        # The job's start-up is the hand-over to this worker; the worker's own start-up is reported apart.
        request = {"argv": command, "env": {**environment, **spawn_time_env()}, "log": str(log_path)}
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the worker is gone: poll() reports its exit code as the job's
        return job

    def read_answers(self) -> None:
        assert self.process.stdout is not None
        with contextlib.suppress(BlockingIOError):
            while chunk := self.process.stdout.read(65536):
                self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            answer = json.loads(line)
            if "ready" in answer:
                self.ready = answer
            elif "exit_code" in answer and self.job is not None:
                self.job.exit_code = int(answer["exit_code"])
                self.retiring = bool(answer.get("retiring"))
                self.job = None

    def end(self, grace_s: float) -> None:
        """Close its input (an idle worker exits), then SIGTERM and SIGKILL its group if still there."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                self.process.wait(timeout=grace_s if sig is signal.SIGKILL else 0.5)
                return
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, sig)
        self.process.wait()


class WorkerJob:
    """A job running in a warm worker, with the Popen surface the runner uses."""

    def __init__(self, worker: WarmWorker) -> None:
        self.worker = worker
        self.exit_code: int | None = None

    @property
    def pid(self) -> int:
        return self.worker.pid

    def poll(self) -> int | None:
        self.worker.read_answers()
        if self.exit_code is not None:
            return self.exit_code
        died = self.worker.process.poll()
        if died is not None:
            self.worker.read_answers()  # an answer written just before exiting still counts
            if self.exit_code is None:
                self.exit_code = died  # killed or crashed mid-job: the job fails with the worker's code
                self.worker.job = None
        return self.exit_code

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(["jobs.worker"], timeout or 0)
            time.sleep(0.05)
        return code


class WorkerPool:
    """Keeps ``slots`` live workers; called only from the runner's dispatcher thread (and shutdown)."""

    def __init__(self, settings: Settings, python: str, log_dir: Path) -> None:
        self.slots = settings.job_slots
        self.python = python
        self.module = settings.job_module
        self.max_rss_mb = settings.job_worker_max_rss_mb or default_max_rss_mb(self.slots)
        self.log_dir = log_dir
        self.workers: list[WarmWorker] = []
        self._numbers = itertools.count(1)

    def maintain(self) -> None:
        """Drop dead workers and start new ones up to the slot count (starting is cheap: they warm up alone)."""
        self.workers = [w for w in self.workers if w.process.poll() is None or w.job is not None]
        while len(self.workers) < self.slots:
            log_path = self.log_dir / f"worker-{next(self._numbers)}.log"
            self.workers.append(WarmWorker(self.python, self.module, self.max_rss_mb, log_path, self.slots))

    def take(self) -> WarmWorker | None:
        """An idle worker, preferring one that has finished warming up."""
        idle = [w for w in self.workers if w.usable]
        idle.sort(key=lambda w: w.ready is None)
        return idle[0] if idle else None

    def shutdown(self, grace_s: float) -> None:
        for worker in self.workers:
            worker.end(grace_s)
        self.workers = []
