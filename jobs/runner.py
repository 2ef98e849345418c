"""Running the images of one job: one (--input/--output) or several in turn (--batch, jobs/batch.py).
Each image's failure becomes its own error.json ({type, message} in plain words; the traceback goes to
stderr only), and each running image is known to the stop handler (jobs/signals.py) until it is done."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from aiorch.settings import Settings
from jobs.arguments import parse_options
from jobs.batch import BatchImage
from jobs.contract import JobFailure
from jobs.job_storage import JobOutput, open_output, write_error_quietly
from jobs.pipeline import Computed, compute_result, run_job, write_result
from jobs.signals import running_jobs
from jobs.timing import JobClock

log = logging.getLogger("jobs")
T = TypeVar("T")


def guarded(job: str, output: JobOutput, step: Callable[[], T]) -> T | None:
    """Run a step of one image; its failure becomes that image's error.json (and None), never more."""
    try:
        return step()
    except JobFailure as failure:
        log.error("job %s failed: %s: %s", job, failure.type, failure.message)
        write_error_quietly(output, failure, job)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        write_error_quietly(output, describe_unexpected(exc, job), job)
    return None


def describe_unexpected(exc: BaseException, job: str) -> JobFailure:
    """A plain-words failure for an exception nobody anticipated (the traceback is in the log)."""
    if isinstance(exc, MemoryError):
        return JobFailure(f"The {job} job ran out of memory. Try a smaller image.", "OutOfMemory")
    if type(exc).__name__ == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError, without importing torch
        return JobFailure(f"The {job} job ran out of GPU memory. Try a smaller image or tile.", "OutOfMemory")
    return JobFailure(
        f"The {job} job failed unexpectedly ({type(exc).__name__}). The details are in the job's log.",
        "InternalError",
    )


def run_one(
    job: str, input_uri: str, output: JobOutput, mask_uri: str | None, options: str, settings: Settings, clock: JobClock
) -> bool:
    """One image, end to end: its files, or its error.json. True when it succeeded."""
    running = (output, job)
    running_jobs.append(running)
    try:

        def run() -> dict[str, Any]:
            output.storage.delete(output.key("error.json"))  # a retry must not leave a stale failure behind
            return run_job(job, input_uri, output, mask_uri, parse_options(options), settings, clock)

        return guarded(job, output, run) is not None
    finally:
        # A warm worker runs many jobs in one process: a stop names only the job still running.
        running_jobs.remove(running)


def run_batch(job: str, images: list[BatchImage], options: str, settings: Settings, clock: JobClock) -> int:
    """Each image of a --batch in turn (jobs/batch.py): the first pays the imports and the model load,
    the others find them done; each image's timings_s are its own. Returns how many succeeded.

    While one image is written (encoded, its files put), the next computes: one writer thread, and the
    next result is handed over only once the previous is written, so at most two images are in memory.
    """
    succeeded = 0
    writing: Future[bool] | None = None

    def write(computed: Computed, running: tuple[JobOutput, str]) -> bool:
        try:
            return guarded(job, computed.output, lambda: write_result(computed)) is not None
        finally:
            running_jobs.remove(running)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-writer") as writer:
        for index, image in enumerate(images):
            try:
                output = open_output(image.output, settings)
            except JobFailure as failure:  # no place to write its error.json: the log says it
                log.error("batch image %d: %s", index, failure.message)
                continue
            own_clock = clock if index == 0 else JobClock.starting(None, time.time())
            running = (output, job)
            running_jobs.append(running)

            def compute(
                output: JobOutput = output, image: BatchImage = image, own_clock: JobClock = own_clock
            ) -> Computed:
                output.storage.delete(output.key("error.json"))
                return compute_result(job, image.input, output, image.mask, parse_options(options), settings, own_clock)

            computed = guarded(job, output, compute)
            if writing is not None:
                succeeded += writing.result()
                writing = None
            if computed is None:
                running_jobs.remove(running)
                continue
            writing = writer.submit(write, computed, running)
        if writing is not None:
            succeeded += writing.result()
    log.info("batch %s: %d of %d images succeeded, %d failed", job, succeeded, len(images), len(images) - succeeded)
    return succeeded
