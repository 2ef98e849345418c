"""A warm job worker: ``python -m jobs.worker <job_module>`` runs many jobs in one process.

Each job is exactly what ``python -m <job_module> ARGS`` would do: the module's
``main(argv) -> int`` (for ``jobs``: jobs.cli.main, re-exported by jobs/__main__.py)
runs with the job's environment, its stdout and stderr in the job's log, and its
return value is the job's exit code. What a cold process pays once per job --
starting Python, importing torch, loading a model -- is paid once per worker:
imports stay in ``sys.modules`` and the operation modules keep their loaded models.

Protocol (one JSON object per line): the runner writes ``{"argv", "env", "log"}``
to stdin; the worker answers ``{"ready": ...}`` once after warming up, then
``{"exit_code": N}`` per job on the stdout it was started with. A stop is the
cold job's stop: SIGTERM to the worker's process group, taken by
jobs.signals.install_stop_handler (error.json {"type": "Stopped"}, exit 143); the
runner then starts a fresh worker. A worker whose resident memory passes the
limit after a job says so and exits, so its models are dropped.
"""

import signal

# As in jobs/__main__.py: block the stop signals before torch or numpy start threads.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})

import contextlib  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from aiorch.settings import get_settings  # noqa: E402
from jobs.signals import install_stop_handler  # noqa: E402
from jobs.timing import process_start_time  # noqa: E402

JobMain = Callable[[list[str]], int]


def job_entry(module: str) -> JobMain:
    """The ``main(argv) -> int`` that ``python -m module`` runs (a package's from its __main__)."""
    imported = importlib.import_module(module)
    if hasattr(imported, "__path__"):  # a package: python -m runs its __main__
        imported = importlib.import_module(f"{module}.__main__")
    entry: JobMain = imported.main
    return entry


def warm_up() -> dict[str, Any]:
    """Import torch now, while no job waits (a job process pays 4.5-6.7 s for it on 2 cores)."""
    started = time.perf_counter()
    try:
        import torch  # noqa: F401
    except ImportError:  # a job image without torch (the fakes in tests): nothing to warm
        return {"torch": False, "warm_s": round(time.perf_counter() - started, 3)}
    return {"torch": True, "warm_s": round(time.perf_counter() - started, 3)}


def startup_since_spawn() -> float | None:
    """This worker's start-up: from the pool's spawn time (Settings.job_spawned_at) to now, torch imported;
    else from the process start in /proc."""
    spawned_at = get_settings().job_spawned_at or process_start_time()
    return None if spawned_at is None else round(max(0.0, time.time() - spawned_at), 3)


def rss_mb() -> float:
    """Peak resident memory of this process in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def job_environment(env: dict[str, str], worker_startup_s: float | None = None) -> Any:
    """The job's environment over the worker's, undone afterwards; settings re-read for the job.

    ``worker_startup_s`` (this worker's own start-up) travels as Settings.job_worker_startup_s, so the
    job's metadata names it apart from the job's own timings.
    """
    saved = dict(os.environ)
    os.environ.pop("AIORCH_JOB_SPAWNED_AT", None)  # the worker's own; the job's comes with its env
    os.environ.update(env)
    if worker_startup_s is not None:
        os.environ["AIORCH_JOB_WORKER_STARTUP_S"] = repr(worker_startup_s)
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


@contextlib.contextmanager
def output_to(log_path: str) -> Any:
    """Point fds 1 and 2 (so print, logging and native libraries) at the job's log, then back."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)


def run_one(entry: JobMain, request: dict[str, Any], worker_startup_s: float | None = None) -> int:
    """One job, with a cold process's exit semantics: main's return, SystemExit's code, else 1."""
    with job_environment(request.get("env") or {}, worker_startup_s), output_to(request["log"]):
        try:
            return int(entry(list(request["argv"])))
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            return 1


def serve(module: str, max_rss_mb: float) -> int:
    answers = os.fdopen(os.dup(1), "w", buffering=1)  # the protocol channel; fd 1 becomes the worker log
    os.dup2(2, 1)
    install_stop_handler()
    entry = job_entry(module)
    warm = warm_up()
    startup_s = startup_since_spawn()
    answers.write(json.dumps({"ready": True, "pid": os.getpid(), **warm, "startup_s": startup_s}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        code = run_one(entry, json.loads(line), startup_s)
        over = max_rss_mb > 0 and rss_mb() > max_rss_mb
        answers.write(json.dumps({"exit_code": code, "rss_mb": round(rss_mb(), 1), "retiring": over}) + "\n")
        if over:
            print(f"worker {os.getpid()}: {rss_mb():.0f} MiB > {max_rss_mb:.0f} MiB, retiring", file=sys.stderr)
            return 0
    return 0  # stdin closed: the runner is done with this worker


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m jobs.worker JOB_MODULE MAX_RSS_MB")
    sys.exit(serve(sys.argv[1], float(sys.argv[2])))
