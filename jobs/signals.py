"""Stopping a job: SIGTERM (AWS Batch's terminate, the local runner's stop) or SIGINT becomes the running
job's error.json {"type": "Stopped"} and a prompt non-zero exit."""

from __future__ import annotations

import os
import signal
import threading

from jobs.contract import JobFailure
from jobs.job_storage import JobOutput, write_error_quietly

# (output, job) of each job running in this process, for the stop handler: a job adds itself while it
# runs and removes itself when done (a warm worker runs many jobs in one process; a batch overlaps two).
running_jobs: list[tuple[JobOutput, str]] = []


def install_stop_handler() -> None:
    """SIGTERM/SIGINT → error.json {"type": "Stopped"} and a prompt non-zero exit.

    The signals are blocked in every thread and received by one waiting
    thread, so the stop is handled even while the main thread is deep in a
    long native call (torch, onnxruntime release the GIL). Threads started
    before the block would still die of the signal: jobs/__main__.py blocks
    the signals before anything else is imported.
    """
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    def wait_for_stop() -> None:
        signum = signal.sigwait(stop_signals)
        try:
            for output, job in running_jobs:
                message = f"The {job} job was stopped (signal {signal.Signals(signum).name}) before it finished."
                write_error_quietly(output, JobFailure(message, "Stopped"), job)
        finally:
            os._exit(128 + signum)

    threading.Thread(target=wait_for_stop, name="stop-signal", daemon=True).start()
