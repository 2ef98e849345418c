"""Local stand-in for AWS Batch: job processes with a slot limit and a fair-share queue beyond it
(users served in turn, each user's jobs in order: see ``JobRunner._next_queued``).

A Batch task runs ``[job_python, -m, job_module, *Command]`` with the container
overrides' environment; stdout and stderr go to a log file under the data
directory. Exit 0 → SUCCEEDED, anything else → FAILED with a status reason.

With ``job_workers`` on (the default) a job runs in one of the warm workers of
workflows/local/workers.py (one per slot, torch imported, models kept loaded)
instead of a fresh process; the contract, the stop and the exit codes are the
same. Off, every job is a cold ``python -m <job_module>`` process.

Every process is started from one long-lived dispatcher thread, in its own
process group, through a tiny launcher that sets ``PR_SET_PDEATHSIG``: the
kernel sends SIGKILL to the job when that thread (so the service) dies, even
by SIGKILL. ``shutdown()`` ends the groups on a clean exit.

That thread must not die while the service lives (every execution after it would wait forever): a
round that raises is logged and the next one runs; a write of the status file that fails (the disk
full, say) is logged and tried again, and a job that fails while the runner's own writes hit a full
disk says so in plain words. ``ensure_running()`` (called by the hooks and the service's own
supervision loop) starts a new dispatcher should the thread be gone all the same.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from aiorch.job_exit import local_job_end_reason
from aiorch.settings import Settings
from workflows.local.workers import (
    WarmWorker,
    WorkerJob,
    WorkerPool,
    launcher_argv,
    spawn_time_env,
    thread_env,
)

log = logging.getLogger(__name__)

STOP_GRACE_S = 5.0  # SIGTERM first; SIGKILL if the job is still there after this
KEEP_FINISHED = 200  # finished jobs kept for DescribeJobs and the status file
SERVED_KEPT = 1000  # users whose last turn the fair-share queue remembers
USER_ENV = "AIORCH_USER"  # the ASL gives each job its user (aiorch.index.stages.USER_ENV)
ROUND_FAILED_PAUSE_S = 1.0  # after a dispatcher round that raised, before the next one
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def gpu_wait_reason(limit_s: float) -> str:
    """What a job that waited too long for a slot says (its execution's error), in plain words."""
    return f"waited more than {limit_s:g} s for a free GPU; try again later"


def disk_full_reason(where: Path) -> str:
    """What a job that failed on a full disk says, in plain words."""
    return (
        f"the disk is full (no space left under {where}): the job could not write what it needed; "
        "free some space and submit it again"
    )


class JobStatus(StrEnum):
    RUNNABLE = "RUNNABLE"  # waiting for a slot
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class LocalJob:
    job_id: str
    job_name: str
    job_queue: str
    job_definition: str
    command: list[str]
    environment: dict[str, str]
    log_path: Path
    status: JobStatus = JobStatus.RUNNABLE
    status_reason: str | None = None
    created_at: int = field(default_factory=_now_ms)
    started_at: int | None = None
    stopped_at: int | None = None
    exit_code: int | None = None
    pid: int | None = None
    last_polled: float = field(default_factory=time.monotonic)
    queued_since: float = field(default_factory=time.monotonic)  # monotonic: a clock step does not end a wait
    stop_reason: str | None = None
    term_sent_at: float | None = None
    process: subprocess.Popen[bytes] | WorkerJob | None = field(default=None, repr=False)
    # The job's cgroup out-of-memory counter and its count when the job started (None: not readable).
    oom_counter: OomCounter | None = field(default=None, repr=False)
    oom_kills_at_start: int | None = None

    @property
    def execution_arn(self) -> str | None:
        return self.environment.get("AIORCH_EXECUTION_ARN")

    def describe(self) -> dict[str, Any]:
        """One entry of Batch's DescribeJobs answer (boto3 casing)."""
        out: dict[str, Any] = {
            "jobArn": f"arn:aws:batch:us-east-1:123456789012:job/{self.job_id}",
            "jobName": self.job_name,
            "jobId": self.job_id,
            "jobQueue": self.job_queue,
            "jobDefinition": self.job_definition,
            "status": self.status.value,
            "createdAt": self.created_at,
            "container": {
                "command": self.command,
                "environment": [{"name": k, "value": v} for k, v in self.environment.items()],
                "logStreamName": str(self.log_path),
            },
        }
        if self.status_reason:
            out["statusReason"] = self.status_reason
        if self.started_at is not None:
            out["startedAt"] = self.started_at
        if self.stopped_at is not None:
            out["stoppedAt"] = self.stopped_at
        if self.exit_code is not None:
            out["container"]["exitCode"] = self.exit_code
        return out


class JobRunner:
    def __init__(self, settings: Settings, *, stop_grace_s: float = STOP_GRACE_S) -> None:
        self.slots = settings.job_slots
        self.gpu_wait_limit_s = settings.gpu_wait_limit_s
        self.python = settings.job_python or sys.executable
        self.module = settings.job_module
        self.state_dir = settings.data_dir / "states"
        self.log_dir = self.state_dir / "jobs"
        self.stop_grace_s = stop_grace_s
        self._jobs: dict[str, LocalJob] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._dirty = True  # the status file needs rewriting
        self._disk_full_at: int | None = None  # epoch ms of the runner's last write that found the disk full
        self._write_error: str | None = None  # the last failed write, logged once
        self._thread = self._new_thread()
        self._started = False
        self.workers = WorkerPool(settings, self.python, self.log_dir) if settings.job_workers else None
        # Told each job's RUNNABLE (submitted) and RUNNING (started), outside the runner's lock: the
        # local service writes them to the execution index as its stage (aiorch/index/stages.py), as
        # Batch's job state change events do in AWS.
        self.on_job_status: Callable[[LocalJob, str], None] | None = None
        self._started_now: list[LocalJob] = []  # started in this round, told after the lock
        self._served: dict[str, int] = {}  # user → the turn they were last served (fair share)
        self._turns = 0

    # --- the Batch-facing API (called from the hooks) ------------------------------
    def submit(
        self, *, name: str, queue: str, definition: str, command: list[str], environment: dict[str, str]
    ) -> LocalJob:
        if not command or not all(isinstance(part, str) for part in command):
            raise ValueError("containerOverrides.command must be a non-empty list of strings")
        self.ensure_running()
        job_id = str(uuid.uuid4())
        job = LocalJob(
            job_id=job_id,
            job_name=name,
            job_queue=queue,
            job_definition=definition,
            command=list(command),
            environment=dict(environment),
            log_path=self.log_dir / f"{job_id}.log",
        )
        with self._lock:
            self._jobs[job_id] = job
            self._queue.append(job_id)
        self._tell(job, JobStatus.RUNNABLE.value)
        self._changed()
        return job

    def _tell(self, job: LocalJob, status: str) -> None:
        if self.on_job_status is None:
            return
        try:
            self.on_job_status(job, status)
        except Exception:  # only what a status poll shows: the job goes on
            log.warning("job %s: its %s could not be told", job.job_id, status, exc_info=True)

    def describe(self, job_ids: list[str]) -> list[dict[str, Any]]:
        self.ensure_running()  # moto's .sync loop asks every 0.5 s: a dead dispatcher is replaced at once
        now = time.monotonic()
        with self._lock:
            found = [self._jobs[j] for j in job_ids if j in self._jobs]
            for job in found:
                job.last_polled = now
            return [job.describe() for job in found]

    def request_stop(self, job_id: str, reason: str) -> None:
        """End a job: a queued one never starts, a running one gets SIGTERM then SIGKILL."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status.is_final or job.stop_reason:
                return
            job.stop_reason = reason
            if job.status is JobStatus.RUNNABLE:
                self._queue.remove(job_id)
                self._finish(job, None, reason)
        self._changed()

    def active_jobs(self) -> list[LocalJob]:
        with self._lock:
            return [j for j in self._jobs.values() if not j.status.is_final]

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.workers is not None:
            self.workers.maintain()  # they warm up in the background while the service starts
        self._started = True
        self._thread.start()

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._loop, name="job-dispatcher", daemon=True)

    def ensure_running(self) -> bool:
        """Start a new dispatcher thread if the one started has died. True when one was started."""
        if not self._started or self._stopping.is_set() or self._thread.is_alive():
            return False
        with self._lock:
            if self._thread.is_alive():
                return False
            log.error("the job dispatcher thread had died: starting a new one")
            self._thread = self._new_thread()
            self._thread.start()
        return True

    def shutdown(self) -> None:
        """End every job process group (SIGTERM, then SIGKILL after the grace period)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        with self._lock:
            running = [j for j in self._jobs.values() if j.process is not None and j.process.poll() is None]
        for job in running:
            _signal_group(job, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace_s
        for job in running:
            assert job.process is not None
            try:
                job.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(job, signal.SIGKILL)
                job.process.wait()
        if self.workers is not None:
            self.workers.shutdown(self.stop_grace_s)

    # --- the dispatcher thread --------------------------------------------------------
    def _changed(self) -> None:
        self._dirty = True
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._round()
            except Exception:  # one bad round must not end the dispatcher: every later job would wait forever
                log.exception("job dispatcher round failed; the next one runs in %.0f s", ROUND_FAILED_PAUSE_S)
                self._dirty = True
                self._stopping.wait(ROUND_FAILED_PAUSE_S)
            self._wake.wait(0.2)
            self._wake.clear()

    def _round(self) -> None:
        with self._lock:
            if self._tick():
                self._dirty = True
            started, self._started_now = self._started_now, []
        for job in started:
            self._tell(job, JobStatus.RUNNING.value)
        if self._dirty:
            self._dirty = False
            try:
                self._write_status_file()
            except OSError as exc:
                self._dirty = True  # tried again next round
                self._note_write_error(exc, "the job status file cannot be written")
            else:
                if self._write_error is not None:
                    log.warning("the job status file is written again (it could not be: %s)", self._write_error)
                    self._write_error = None

    def _note_write_error(self, exc: OSError, what: str) -> None:
        """Log a failed write once (not every round while it lasts); a full disk is remembered."""
        if exc.errno in DISK_FULL_ERRNOS:
            self._disk_full_at = _now_ms()
        message = (
            f"{what}: the disk under {self.state_dir.parent} is full ({exc})"
            if exc.errno in DISK_FULL_ERRNOS
            else f"{what}: {exc}"
        )
        if message != self._write_error:
            log.error("%s", message)
            self._write_error = message

    def _plain(self, exc: BaseException) -> str:
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            self._disk_full_at = _now_ms()
            return f"{disk_full_reason(self.state_dir.parent)} ({exc})"
        return f"{type(exc).__name__}: {exc}"

    def _disk_was_full_while(self, job: LocalJob) -> bool:
        """Whether a write of the runner's found the disk full while ``job`` was queued or running."""
        return self._disk_full_at is not None and self._disk_full_at >= job.created_at

    def _tick(self) -> bool:
        changed = False
        for job in list(self._jobs.values()):
            if job.status is not JobStatus.RUNNING or job.process is None:
                continue
            try:
                changed = self._check_running(job) or changed
            except Exception as exc:  # this job cannot be followed any more: it fails, the others go on
                log.exception("job %s cannot be followed: failing it", job.job_id)
                _signal_group(job, signal.SIGKILL)
                self._finish(job, None, f"the local job runner lost track of this job ({type(exc).__name__}: {exc})")
                changed = True
        if self.workers is not None:
            try:
                self.workers.maintain()  # replaces a worker that died (with its job, finished above)
            except OSError as exc:  # a full disk, too many processes: queued jobs wait for the next round
                self._note_write_error(exc, "a warm worker cannot be started")
        running = sum(1 for j in self._jobs.values() if j.status is JobStatus.RUNNING)
        while running < self.slots and self._queue:
            if self.workers is None:
                job = self._next_queued()
                self._start(job)
            elif (worker := self.workers.take()) is not None:
                job = self._next_queued()
                try:
                    self._start_in_worker(job, worker)
                except Exception as exc:  # never leave a job RUNNING with nothing running it
                    log.exception("job %s cannot be handed to a warm worker", job.job_id)
                    self._finish(job, None, f"CannotStartContainerError: {self._plain(exc)}")
            else:
                break  # every worker busy or just replaced: the job waits
            if job.status is JobStatus.RUNNING:
                self._started_now.append(job)
            running += 1
            changed = True
        changed = self._fail_overdue_queued() or changed
        return changed or self._prune()

    def _fail_overdue_queued(self) -> bool:
        """Fail the jobs still queued past ``gpu_wait_limit_s`` (after this round's free slots were given
        out, so a job that just got one runs). Its execution then ends FAILED saying why, instead of
        waiting until the task's timeout and leaving a job to start for nobody; Batch's own time limit
        (jobStateTimeLimitActions) cancels only for want of capacity or a misconfiguration."""
        now = time.monotonic()
        overdue = [j for j in self._queue if now - self._jobs[j].queued_since > self.gpu_wait_limit_s]
        for job_id in overdue:
            self._queue.remove(job_id)
            job = self._jobs[job_id]
            log.warning("job %s waited more than %g s for a slot: failing it", job_id, self.gpu_wait_limit_s)
            self._finish(job, None, gpu_wait_reason(self.gpu_wait_limit_s))
        return bool(overdue)

    def _next_queued(self) -> LocalJob:
        """The queued job to start next (the queue is not empty): fair share across users, as AWS
        Batch's fair-share scheduling policy does with the jobs' share identifiers. The user served
        least recently goes first (one never served before anyone served), and of a user's jobs the
        oldest; so user A's four queued jobs do not make user B's one, submitted after, wait behind all
        four. Jobs without a user (AIORCH_USER) share one turn."""
        first_of: dict[str, str] = {}  # each user's oldest queued job, in the order of the queue
        for job_id in self._queue:
            first_of.setdefault(self._jobs[job_id].environment.get(USER_ENV, ""), job_id)
        user = min(first_of, key=lambda u: self._served.get(u, -1))  # ties: the earliest in the queue
        self._queue.remove(first_of[user])
        self._turns += 1
        self._served[user] = self._turns
        if len(self._served) > SERVED_KEPT:  # forget those served longest ago (they go first again)
            for gone in sorted(self._served, key=self._served.__getitem__)[: len(self._served) - SERVED_KEPT]:
                del self._served[gone]
        return self._jobs[first_of[user]]

    def _check_running(self, job: LocalJob) -> bool:
        assert job.process is not None
        code = job.process.poll()
        if code is not None:
            reason = job.stop_reason or (None if code == 0 else local_job_end_reason(code, self._oom_kills(job)))
            self._finish(job, code, reason)
            return True
        if job.stop_reason and job.term_sent_at is None:
            _signal_group(job, signal.SIGTERM)
            job.term_sent_at = time.monotonic()
        elif job.term_sent_at is not None and time.monotonic() - job.term_sent_at > self.stop_grace_s:
            _signal_group(job, signal.SIGKILL)
        return False

    def _start(self, job: LocalJob) -> None:
        argv = launcher_argv(self.python, ["-m", self.module, *job.command])
        job.status = JobStatus.RUNNING
        job.started_at = _now_ms()
        try:
            with open(job.log_path, "ab") as log:
                job.process = subprocess.Popen(
                    argv,
                    env={**os.environ, **thread_env(self.slots), **job.environment, **spawn_time_env()},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group, so the whole job can be signalled
                )
            job.pid = job.process.pid
        except OSError as exc:
            self._finish(job, None, f"CannotStartContainerError: {self._plain(exc)}")
            return
        self._count_oom_kills_from_now(job)

    def _start_in_worker(self, job: LocalJob, worker: WarmWorker) -> None:
        job.status = JobStatus.RUNNING
        job.started_at = _now_ms()
        job.process = worker.run(job.command, job.environment, job.log_path)
        job.pid = job.process.pid
        self._count_oom_kills_from_now(job)

    def _count_oom_kills_from_now(self, job: LocalJob) -> None:
        assert job.pid is not None
        job.oom_counter = OomCounter.of_process(job.pid)
        job.oom_kills_at_start = job.oom_counter.read() if job.oom_counter else None

    def _oom_kills(self, job: LocalJob) -> int | None:
        """Out-of-memory kills in the job's cgroup since it started; None when that cannot be told."""
        if job.oom_counter is None or job.oom_kills_at_start is None:
            return None
        now = job.oom_counter.read()
        return None if now is None else max(0, now - job.oom_kills_at_start)

    def _finish(self, job: LocalJob, exit_code: int | None, reason: str | None) -> None:
        failed = exit_code != 0 and not job.stop_reason
        if failed and reason and "disk is full" not in reason and self._disk_was_full_while(job):
            reason = f"{disk_full_reason(self.state_dir.parent)} ({reason})"
        job.exit_code = exit_code
        job.status = JobStatus.SUCCEEDED if exit_code == 0 and not job.stop_reason else JobStatus.FAILED
        job.status_reason = reason
        job.stopped_at = _now_ms()

    def _prune(self) -> bool:
        finished = [j for j in self._jobs.values() if j.status.is_final]
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.job_id]
        return False

    def _write_status_file(self) -> None:
        with self._lock:
            snapshot = [job.describe() | {"pid": job.pid} for job in self._jobs.values()]
        path = self.state_dir / "jobs.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"slots": self.slots, "jobs": snapshot}, indent=1), encoding="utf-8")
        tmp.replace(path)


CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class OomCounter:
    """The kernel's out-of-memory kill count of one cgroup: ``oom_kill`` in memory.events (cgroup v2)
    or memory.oom_control (cgroup v1 memory controller)."""

    path: Path

    @classmethod
    def of_process(cls, pid: int, root: Path = CGROUP_ROOT, proc: Path = Path("/proc")) -> OomCounter | None:
        """The counter of the cgroup ``pid`` is in (local jobs run in the service's cgroup: the count is of
        that cgroup, whatever process in it was killed). None when no counter is readable."""
        try:
            lines = (proc / str(pid) / "cgroup").read_text(encoding="ascii").splitlines()
        except OSError:
            return None
        candidates: list[Path] = []
        for line in lines:
            _, controllers, cgroup = line.split(":", 2)
            if controllers == "":  # v2: "0::/path"
                candidates.append(root / cgroup.lstrip("/") / "memory.events")
            elif "memory" in controllers.split(","):  # v1: "4:memory:/path"
                candidates.append(root / "memory" / cgroup.lstrip("/") / "memory.oom_control")
        # Fallback: in a container the cgroup path is the host's while the container's own cgroup is
        # mounted at the root, so the path may not exist below the mount: the mount root is that cgroup.
        candidates += [root / "memory.events", root / "memory" / "memory.oom_control"]
        for path in candidates:
            counter = cls(path)
            if counter.read() is not None:
                return counter
        return None

    def read(self) -> int | None:
        try:
            text = self.path.read_text(encoding="ascii")
        except OSError:
            return None
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return None  # a kernel too old to count kills (before 4.13)


def _signal_group(job: LocalJob, sig: signal.Signals) -> None:
    if job.pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(job.pid, sig)


def job_stage_writer(settings: Settings) -> Callable[[LocalJob, str], None]:
    """``JobRunner.on_job_status`` for the local service: a job queued or started becomes its
    execution's stage in the index ("queued for a GPU", "running upscale"), as Batch's job state
    change events do through the status-change handler in AWS."""
    from aiorch.index import open_index
    from aiorch.index.stages import note_job_stage

    def write(job: LocalJob, status: str) -> None:
        note_job_stage(open_index(settings), job.environment, job.command, status)

    return write


def read_jobs(settings: Settings) -> dict[str, Any]:
    """The local job list as the service last wrote it (for status pages): {"slots", "jobs": [...]}."""
    path = settings.data_dir / "states" / "jobs.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return {"slots": settings.job_slots, "jobs": []}
