"""The job command line: its parser, the one-image-or---batch rule, and the --options it reads."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from aiorch.operations import OUTPUT_OPTIONS, OptionError, check_options
from aiorch.settings import Settings, get_settings
from jobs.contract import JobFailure
from jobs.job_storage import JobOutput, open_output
from jobs.job_table import JOB_TYPES
from jobs.options import option_failure


class UsageError(Exception):
    """The command line itself is wrong."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m jobs",
        description="Run one image model job. Writes result.<ext>, metadata.json and progress.json under "
        "--output (a prefix ending in '/'), or error.json and a non-zero exit on failure.",
    )
    parser.add_argument("job", choices=sorted(JOB_TYPES), help="which job to run")
    parser.add_argument("--input", help="the image: file:///abs/path or s3://bucket/key")
    parser.add_argument("--output", help="result prefix ending in '/': file:///dir/ or s3://b/p/")
    parser.add_argument("--mask", help="a mask image (detect-text: added to the text mask; inpaint: required)")
    parser.add_argument(
        "--batch",
        help='instead of --input/--output/--mask: several images, a JSON list of {"input", "output"[, "mask"]} '
        "(jobs/batch.py); each gets its own result or error.json; exit 0 when any succeeded",
    )
    parser.add_argument("--options", default="{}", help='options as a JSON object, e.g. \'{"format": "webp"}\'')
    return parser


def check_one_or_batch(args: argparse.Namespace) -> None:
    if args.batch is not None:
        if args.input or args.output or args.mask:
            raise UsageError("--batch replaces --input, --output and --mask (each image names its own)")
    elif not (args.input and args.output):
        raise UsageError("the following arguments are required: --input, --output (or --batch)")


def output_from_argv(argv: Sequence[str], settings: Settings | None) -> JobOutput | None:
    """Find --output in a command line that failed to parse, to still write error.json there."""
    lenient = argparse.ArgumentParser(add_help=False)
    lenient.add_argument("--output")
    try:
        known, _ = lenient.parse_known_args(argv)
        return open_output(known.output, settings or get_settings()) if known.output else None
    except (JobFailure, SystemExit):
        return None


def parse_options(text: str) -> dict[str, Any]:
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobFailure(f"--options is not valid JSON ({exc.msg}).", "BadRequest") from None
    if not isinstance(options, dict):
        raise JobFailure('--options must be a JSON object, like {"format": "png"}.', "BadRequest")
    return options


def split_options(job: str, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(options for the operation, options for the encoder), checked against the operation's schema
    (aiorch.operations, the one ValidateInput and the API use). The operator runs the job, so operator
    settings (weights, device, compile) are accepted here."""
    try:
        checked = check_options(JOB_TYPES[job].operation, options, operator=True)
    except OptionError as exc:
        raise option_failure(job, exc) from None
    return (
        {k: v for k, v in checked.items() if k not in OUTPUT_OPTIONS},
        {k: v for k, v in checked.items() if k in OUTPUT_OPTIONS},
    )
