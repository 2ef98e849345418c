"""The job entry point: ``python -m jobs JOB --input URI --output URI [--mask URI] [--options JSON]``, JOB
one of the jobs of the registry of operations (aiorch/registry/; ``--help`` lists them), or ``--batch
MANIFEST`` for several images in one job (jobs/batch.py).

Each image gets ``result.<ext>``, any extra files, ``thumbnail.webp`` and ``metadata.json``, with
``progress.json`` updated throughout (jobs/pipeline.py); a failure writes ``error.json`` ({type, message}
in plain words) and exits non-zero, the traceback on stderr only (jobs/runner.py). The parts: the
command line (jobs/arguments.py), the job table (jobs/job_table.py), timings_s (jobs/timing.py), stops
(jobs/signals.py), metadata.json (jobs/metadata.py).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence

from aiorch.settings import Settings, get_settings
from jobs.arguments import UsageError, build_parser, check_one_or_batch, output_from_argv
from jobs.batch import BadManifest, parse_manifest
from jobs.contract import JobFailure
from jobs.job_storage import open_output, write_error_quietly
from jobs.job_table import JOB_TYPES
from jobs.runner import run_batch, run_one
from jobs.signals import install_stop_handler
from jobs.timing import JobClock, process_start_time

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "JOB_TYPES", "main", "run_process"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def main(
    argv: Sequence[str] | None = None, settings: Settings | None = None, *, process_started_at: float | None = None
) -> int:
    """Run one job; returns the process exit code.

    ``process_started_at`` (epoch s) is when this process started, for timings_s.startup when the runner
    gave no spawn time (``Settings.job_spawned_at``); run_process reads it from /proc.
    """
    entered_at = time.time()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        check_one_or_batch(args)
        images = parse_manifest(args.batch) if args.batch is not None else None
    except (UsageError, BadManifest) as exc:
        message = f"Bad job command line: {exc}."
        output = output_from_argv(argv, settings)
        if output is not None:
            write_error_quietly(output, JobFailure(message, "BadRequest"), None)
        print(f"{parser.format_usage()}error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    settings = settings or get_settings()
    clock = JobClock.starting(settings.job_spawned_at or process_started_at, entered_at)
    if images is not None:
        return EXIT_OK if run_batch(args.job, images, args.options, settings, clock) else EXIT_FAILED
    try:
        output = open_output(args.output, settings)
    except JobFailure as failure:
        print(f"error: {failure.message}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if run_one(args.job, args.input, output, args.mask, args.options, settings, clock) else EXIT_FAILED


def run_process() -> None:
    """The console entry point (``python -m jobs``)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    install_stop_handler()
    sys.exit(main(process_started_at=process_start_time()))
