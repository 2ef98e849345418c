"""How a job ended, in plain words, when it wrote no ``error.json`` of its own.

A job that is killed (by the out-of-memory killer, ``kill -9``, a host going away) never gets to write
``error.json``. What is known then: its exit status and, locally, its cgroup's out-of-memory kill count
(workflows/local/jobs.py writes both into the job's ``statusReason``); in AWS, Batch's ``statusReason``
and the container's ``reason`` and exit code. ``batch_job_failure`` turns a failed job's description
(the ``.sync`` task's cause) into what RecordFailure records, so the user reads "killed by SIGKILL
(signal 9)" or "OutOfMemoryError: ..." instead of "exit code -9". A job failed before it ever started
(it waited too long for a GPU) is recorded with its reason alone.
"""

from __future__ import annotations

import signal
from typing import Any

# Batch's own prefix for a container killed for memory; the local runner's reason starts with it too.
OUT_OF_MEMORY = "OutOfMemoryError"


def _signal_name(number: int) -> str | None:
    try:
        return signal.Signals(number).name
    except ValueError:
        return None


def exit_status_words(code: int | None) -> str:
    """A process's exit status as words: a negative code is the signal that killed it (Popen's way);
    128 + N is how container runtimes and shells report death by signal N."""
    if code is None:
        return "ended with no exit status"
    if code < 0 and (name := _signal_name(-code)):
        return f"was killed by {name} (signal {-code})"
    if code > 128 and (name := _signal_name(code - 128)):
        return f"exited with code {code} (128 + {code - 128}: ended by {name})"
    return f"exited with code {code}"


def killed_by_signal(code: int | None) -> bool:
    return code is not None and ((code < 0 and _signal_name(-code) is not None) or code == 128 + signal.SIGKILL)


def oom_kill_words(kills: int | None) -> str:
    """The cgroup's out-of-memory kills while the job ran (None: not readable here)."""
    if kills is None:
        return "whether it ran out of memory could not be told (no readable out-of-memory count for its cgroup)"
    if kills == 0:
        return "no out-of-memory kill in its cgroup while it ran"
    return (
        f"the out-of-memory killer ended {kills} process{'es' if kills > 1 else ''} in its cgroup while it ran: "
        "it most likely ran out of memory"
    )


def local_job_end_reason(code: int | None, oom_kills: int | None) -> str:
    """The local runner's statusReason for a job process that ended non-zero (AWS Batch's words where
    they exist: an out-of-memory end starts with ``OutOfMemoryError:``, as Batch's does)."""
    ended = f"Job process {exit_status_words(code)}; {oom_kill_words(oom_kills)}"
    return f"{OUT_OF_MEMORY}: {ended}" if oom_kills else ended


def _field(data: Any, name: str) -> Any:
    """``name`` in Step Functions' PascalCase or boto3's camelCase (the cause may come in either)."""
    if not isinstance(data, dict):
        return None
    return data.get(name, data.get(name[:1].lower() + name[1:]))


def batch_job_failure(job: dict[str, Any]) -> tuple[str, str] | None:
    """(error type, message) for a failed Batch job that left no error.json, from its description;
    None when ``job`` is not a Batch job description.

    Batch puts its summary in ``StatusReason`` ("Essential container in task exited") and the
    container's own end in ``Container.Reason`` ("OutOfMemoryError: Container killed due to memory
    usage") and ``Container.ExitCode`` (also per attempt, the last attempt is the one that failed).
    """
    status_reason = _field(job, "StatusReason")
    container = _field(job, "Container") or {}
    attempts = _field(job, "Attempts") or []
    last_attempt = (_field(attempts[-1], "Container") or {}) if isinstance(attempts, list) and attempts else {}
    if status_reason is None and not container and not last_attempt:
        return None
    container_reason = _field(container, "Reason") or _field(last_attempt, "Reason")
    exit_code = _field(container, "ExitCode")
    if exit_code is None:
        exit_code = _field(last_attempt, "ExitCode")
    exit_code = exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None

    if status_reason and not container_reason and exit_code is None and _field(job, "StartedAt") is None:
        # It never started (no start time, no container end): it was failed while queued, by the local
        # runner's GPU wait limit or Batch's job state time limit. Its reason is the whole story; saying
        # "the job ended without reporting an error" would send the user looking for a crash.
        return "JobNotStarted", str(status_reason)
    parts = [str(p) for p in (status_reason, container_reason) if p]
    if exit_code is not None and not any("exited with code" in p for p in parts):
        parts.append(f"the container {exit_status_words(exit_code)}")
    message = "; ".join(parts) or "Batch gave no reason"
    if OUT_OF_MEMORY in message:
        error_type = "OutOfMemory"
    elif killed_by_signal(exit_code):
        error_type = "JobKilled"
    else:
        error_type = "JobEnded"
    return error_type, f"the job ended without reporting an error: {message}"


def batch_job_kind(job: dict[str, Any]) -> str | None:
    """The job kind (upscale, detect-text, ...): the first word of the container's command."""
    command = _field(_field(job, "Container"), "Command")
    return str(command[0]) if isinstance(command, list) and command else None
