"""The job entry point: ``python -m jobs {upscale,denoise,detect-text,inpaint} --input URI --output URI``
(or ``--batch MANIFEST`` for several images in one job: jobs/batch.py).

The flow of one job (DESIGN.md, "Contracts"):
read the input (and mask) → decode → run the operation module → encode →
write ``result.<ext>`` (its provenance written in: jobs/provenance.py), any extra files,
``thumbnail.webp``, ``metadata.json``; ``progress.json``
is updated throughout. A failure writes ``error.json`` ({type, message} in
plain words) and exits non-zero; the traceback goes to stderr only.

Operation modules are imported only when their job runs, so ``--help`` stays
light (no torch).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from aiorch.contracts import JobError, JobKind, JobStage, Operation
from aiorch.operations import OUTPUT_OPTIONS, OptionError, check_options
from aiorch.pricing import job_price, run_cost
from aiorch.registry import REGISTRY
from aiorch.settings import Settings, get_settings
from aiorch.storage import NotFound, Storage, open_uri
from jobs import imageio, provenance
from jobs.batch import BadManifest, BatchImage, parse_manifest
from jobs.contract import JobFailure, OperationOutput
from jobs.devices import require_job_device
from jobs.options import option_failure
from jobs.progress import ProgressWriter

log = logging.getLogger("jobs")
T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class JobType:
    # The module has run(image, options, progress[, mask=...]) -> OperationOutput.
    module: str
    operation: Operation  # whose option schema and pixel limit apply
    mask: str  # "none", "optional" or "required"


# One entry per job of the registry of operations (aiorch/registry/): each job's module, the operation
# whose options it reads (detect-text: inpaint's) and its mask. The module is imported only when it runs.
JOB_TYPES: dict[str, JobType] = {
    JobKind(kind).value: JobType(job.module, Operation(REGISTRY.schema_owner(kind).name), job.mask)
    for kind, job in REGISTRY.jobs.items()
}


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


def _check_one_or_batch(args: argparse.Namespace) -> None:
    if args.batch is not None:
        if args.input or args.output or args.mask:
            raise UsageError("--batch replaces --input, --output and --mask (each image names its own)")
    elif not (args.input and args.output):
        raise UsageError("the following arguments are required: --input, --output (or --batch)")


@dataclass
class JobOutput:
    """Where one job writes: a storage and the prefix inside it."""

    storage: Storage
    prefix: str
    uri: str | None = None  # as the job was given it: a file:// prefix's storage root hides the key layout

    def key(self, name: str) -> str:
        return self.prefix + name

    def write_error(self, failure: JobFailure, job: str | None) -> None:
        error = JobError(type=failure.type, message=failure.message, job=job)
        self.storage.put_json(self.key("error.json"), error.model_dump(mode="json"))


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
        _check_one_or_batch(args)
        images = parse_manifest(args.batch) if args.batch is not None else None
    except (UsageError, BadManifest) as exc:
        message = f"Bad job command line: {exc}."
        output = _output_from_argv(argv, settings)
        if output is not None:
            _write_error_quietly(output, JobFailure(message, "BadRequest"), None)
        print(f"{parser.format_usage()}error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    settings = settings or get_settings()
    clock = JobClock.starting(settings.job_spawned_at or process_started_at, entered_at)
    if images is not None:
        return _run_batch(args.job, images, args.options, settings, clock)
    try:
        output = open_output(args.output, settings)
    except JobFailure as failure:
        print(f"error: {failure.message}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if _run_one(args.job, args.input, output, args.mask, args.options, settings, clock) else EXIT_FAILED


def _guarded(job: str, output: JobOutput, step: Callable[[], T]) -> T | None:
    """Run a step of one image; its failure becomes that image's error.json (and None), never more."""
    try:
        return step()
    except JobFailure as failure:
        log.error("job %s failed: %s: %s", job, failure.type, failure.message)
        _write_error_quietly(output, failure, job)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        _write_error_quietly(output, describe_unexpected(exc, job), job)
    return None


def _run_one(
    job: str, input_uri: str, output: JobOutput, mask_uri: str | None, options: str, settings: Settings, clock: JobClock
) -> bool:
    """One image, end to end: its files, or its error.json. True when it succeeded."""
    running = (output, job)
    _current_output.append(running)
    try:

        def run() -> dict[str, Any]:
            output.storage.delete(output.key("error.json"))  # a retry must not leave a stale failure behind
            return run_job(job, input_uri, output, mask_uri, parse_options(options), settings, clock)

        return _guarded(job, output, run) is not None
    finally:
        # A warm worker runs many jobs in one process: a stop names only the job still running.
        _current_output.remove(running)


def _run_batch(job: str, images: list[BatchImage], options: str, settings: Settings, clock: JobClock) -> int:
    """Each image of a --batch in turn (jobs/batch.py): the first pays the imports and the model load,
    the others find them done; each image's timings_s are its own.

    While one image is written (encoded, its files put), the next computes: one writer thread, and the
    next result is handed over only once the previous is written, so at most two images are in memory.
    """
    succeeded = 0
    writing: Future[bool] | None = None

    def write(computed: Computed, running: tuple[JobOutput, str]) -> bool:
        try:
            return _guarded(job, computed.output, lambda: write_result(computed)) is not None
        finally:
            _current_output.remove(running)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-writer") as writer:
        for index, image in enumerate(images):
            try:
                output = open_output(image.output, settings)
            except JobFailure as failure:  # no place to write its error.json: the log says it
                log.error("batch image %d: %s", index, failure.message)
                continue
            own_clock = clock if index == 0 else JobClock.starting(None, time.time())
            running = (output, job)
            _current_output.append(running)

            def compute(
                output: JobOutput = output, image: BatchImage = image, own_clock: JobClock = own_clock
            ) -> Computed:
                output.storage.delete(output.key("error.json"))
                return compute_result(job, image.input, output, image.mask, parse_options(options), settings, own_clock)

            computed = _guarded(job, output, compute)
            if writing is not None:
                succeeded += writing.result()
                writing = None
            if computed is None:
                _current_output.remove(running)
                continue
            writing = writer.submit(write, computed, running)
        if writing is not None:
            succeeded += writing.result()
    log.info("batch %s: %d of %d images succeeded, %d failed", job, succeeded, len(images), len(images) - succeeded)
    return EXIT_OK if succeeded else EXIT_FAILED


@dataclass
class JobClock:
    """The job's timings_s: separate figures for start-up, imports, decode, model load, model and encode.

    ``origin`` is the runner's spawn time (or the process start) when known: a process cannot time its
    own start, so start-up is ``entered - origin``, and ``total`` runs from ``origin`` (else from
    ``entered``) to the metadata. The parts never overlap, so their sum is at most ``total``.
    """

    origin: float | None  # epoch s
    entered: float  # epoch s: main() began
    stages: dict[str, float]

    @classmethod
    def starting(cls, origin: float | None, entered: float) -> JobClock:
        # A spawn time after entry (clocks of two processes agree on one machine; guard anyway) is unusable.
        return cls(origin if origin is not None and origin <= entered else None, entered, {})

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - started

    def timings(self, operation_timings: dict[str, Any]) -> dict[str, Any]:
        """timings_s for the metadata; ``operation_timings`` are the operation's own (load_model, model, ...)."""
        run_s = self.stages.pop("operation", 0.0)
        load_s = _seconds(operation_timings.get("load_model"), 0.0)
        model_s = _seconds(operation_timings.get("model"), max(0.0, run_s - load_s))
        detail = {k: round(_seconds(v, 0.0), 4) for k, v in operation_timings.items() if k not in _OWN_TIMINGS}
        ended = time.time()
        start = self.origin if self.origin is not None else self.entered
        return {
            "startup": None if self.origin is None else round(self.entered - self.origin, 4),
            "imports": round(self.stages.get("imports", 0.0), 4),
            "decode": round(self.stages.get("decode", 0.0), 4),
            "load_model": round(load_s, 4),
            "model": round(model_s, 4),
            "encode": round(self.stages.get("encode", 0.0), 4),
            "total": round(ended - start, 4),
            "total_from": "spawn" if self.origin is not None else "job start (spawn time unknown)",
            "detail": {**detail, "operation": round(run_s, 4)},
        }


# The operation's timings that JobClock.timings places itself; the rest go under "detail".
_OWN_TIMINGS = frozenset({"load_model", "model"})


def _seconds(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def run_job(
    job: str,
    input_uri: str,
    output: JobOutput,
    mask_uri: str | None,
    options: dict[str, Any],
    settings: Settings,
    clock: JobClock | None = None,
) -> dict[str, Any]:
    """Run one job end to end; returns the metadata it wrote."""
    return write_result(compute_result(job, input_uri, output, mask_uri, options, settings, clock))


@dataclass
class Computed:
    """One image's model output, not yet written (a batch writes it while the next image computes)."""

    job: str
    output: JobOutput
    options: dict[str, Any]
    output_options: dict[str, Any]
    settings: Settings
    clock: JobClock
    progress: ProgressWriter
    decoded: Any
    result: OperationOutput
    input_bytes: bytes | None = None  # the input file as read: an unchanged result in its format is these bytes


def compute_result(
    job: str,
    input_uri: str,
    output: JobOutput,
    mask_uri: str | None,
    options: dict[str, Any],
    settings: Settings,
    clock: JobClock | None = None,
) -> Computed:
    """Read, decode and run the model; nothing written but progress."""
    clock = clock or JobClock.starting(None, time.time())
    job_type = JOB_TYPES[job]
    require_job_device(settings.job_device)  # before any work: a GPU host that cannot use its GPU fails now
    progress = ProgressWriter(output.storage, output.key("progress.json"))
    progress(JobStage.reading_input, 0, 1)
    if mask_uri and job_type.mask == "none":
        raise JobFailure(f"The {job} job takes no mask; --mask is only for detect-text and inpaint.", "BadRequest")
    if not mask_uri and job_type.mask == "required":
        raise JobFailure(f"The {job} job needs a mask (--mask).", "BadRequest")
    operation_options, output_options = split_options(job, options)
    imageio.check_output_options(output_options.get("format", "png"), output_options.get("quality"))
    max_pixels = settings.max_pixels(job_type.operation)
    with clock.stage("imports"):  # torch, spandrel, deepinv...: seconds on a cold process, nothing when warm
        module = importlib.import_module(job_type.module)
        for library in module.libraries(operation_options):
            importlib.import_module(library)

    with clock.stage("decode"):
        input_bytes = read_uri(input_uri, "input", settings)
        decoded = imageio.decode_image(input_bytes, max_pixels)
        mask = imageio.decode_mask(read_uri(mask_uri, "mask", settings), max_pixels) if mask_uri else None
    progress(JobStage.reading_input, 1, 1)

    with clock.stage("operation"):
        extra = {"mask": mask} if job_type.mask != "none" else {}
        result: OperationOutput = module.run(decoded.rgb, operation_options, progress, **extra)
    return Computed(job, output, options, output_options, settings, clock, progress, decoded, result, input_bytes)


def write_result(computed: Computed) -> dict[str, Any]:
    """Encode and write the result, its extra files, thumbnail and metadata.json; returns the metadata."""
    job, output, options, output_options = computed.job, computed.output, computed.options, computed.output_options
    settings, clock, progress, decoded, result = (
        computed.settings,
        computed.clock,
        computed.progress,
        computed.decoded,
        computed.result,
    )
    progress(JobStage.writing_result, 0, 1)
    with clock.stage("encode"):
        data, ext, content_type, notes = encode_result(job, result, decoded, output_options, computed.input_bytes)
        data = provenance.stamp(
            data,
            job=job,
            options=options,
            operation_metadata=result.metadata,
            output_prefix=output.uri or output.prefix,
            settings=settings,
            notes=notes,
        )
        output.storage.put_bytes(output.key(f"result.{ext}"), data, content_type)
        for name, blob in result.extra_files.items():
            output.storage.put_bytes(output.key(name), blob)
        thumbnail = write_thumbnail(output, result, decoded, ext, notes)

    metadata = build_metadata(job, result, decoded, data, ext, options, notes)
    metadata["thumbnail"] = thumbnail
    metadata["worker"] = (
        None
        if settings.job_worker_startup_s is None
        else {"pid": os.getpid(), "startup_s": settings.job_worker_startup_s}
    )
    metadata["timings_s"] = clock.timings(result.metadata.get("timings_s", {}))
    # Its price: the device seconds it held (its timings' total) at the price of the machine it ran on.
    metadata["cost"] = run_cost(job_price(settings), metadata["timings_s"]["total"]).model_dump()
    output.storage.put_json(output.key("metadata.json"), metadata)
    progress(JobStage.done, 1, 1)
    return metadata


def open_output(uri: str, settings: Settings) -> JobOutput:
    if not uri.endswith("/"):
        raise JobFailure(f"--output must be a prefix ending in '/', not {uri!r}.", "BadRequest")
    try:
        storage, prefix = open_uri(uri, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region)
    except ValueError as exc:
        raise JobFailure(str(exc), "BadRequest") from exc
    return JobOutput(storage, prefix, uri)


def read_uri(uri: str, what: str, settings: Settings) -> bytes:
    try:
        storage, key = open_uri(uri, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region)
        return storage.get_bytes(key)
    except NotFound:
        raise JobFailure(f"The {what} file was not found: {uri}", "NotFound") from None
    except ValueError as exc:
        raise JobFailure(f"The {what} location is not usable: {exc}", "BadRequest") from exc


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


def encode_result(
    job: str,
    result: OperationOutput,
    decoded: imageio.DecodedImage,
    output_options: dict[str, Any],
    input_bytes: bytes | None = None,
) -> tuple[bytes, str, str, list[str]]:
    """(bytes, extension, content type, notes). Masks are always PNG; images keep alpha and ICC.

    A result the operation calls unchanged (metadata "unchanged": inpaint without text), asked for in the
    input's own format, is the input file itself: re-encoding a JPEG would lose quality for nothing."""
    notes: list[str] = []
    if result.image.ndim == 2:
        return imageio.encode_mask(result.image), "png", "image/png", notes
    fmt = str(output_options.get("format", "png"))
    pil_format, ext, content_type = imageio.output_format(fmt)
    if (
        input_bytes is not None
        and result.metadata.get("unchanged") is True
        and pil_format.lower() == decoded.format
        and result.image.shape[:2] == (decoded.height, decoded.width)
    ):
        notes.append(
            "the result is unchanged: the input file is returned as it was (its provenance added), not re-encoded"
        )
        return input_bytes, ext, content_type, notes
    alpha = decoded.alpha
    if alpha is not None and alpha.shape != result.image.shape[:2]:
        alpha = resize_plane(alpha, result.image.shape[1], result.image.shape[0])
        notes.append("alpha channel resized to the result with bicubic interpolation")
    if alpha is not None and ext == "jpg":
        notes.append("JPEG has no alpha channel: the transparent image was flattened onto white")
    data = imageio.encode_image(
        result.image,
        alpha=alpha,
        format=fmt,
        quality=output_options.get("quality"),
        icc_profile=decoded.icc_profile,
    )
    return data, ext, content_type, notes


def write_thumbnail(
    output: JobOutput, result: OperationOutput, decoded: imageio.DecodedImage, ext: str, notes: list[str]
) -> dict[str, Any] | None:
    """``thumbnail.webp`` beside the result (at most 256 px, as the result looks: its alpha, or flattened
    onto white for a JPEG), so a gallery never loads the full result; its entry for the metadata. A
    thumbnail that cannot be made costs the user nothing but the preview: noted, the job still succeeds."""
    try:
        thumb = imageio.encode_thumbnail(
            result.image,
            alpha=decoded.alpha if result.image.ndim == 3 else None,
            opaque=ext == "jpg",
            icc_profile=decoded.icc_profile if result.image.ndim == 3 else None,
        )
        output.storage.put_bytes(output.key(imageio.THUMBNAIL_NAME), thumb.data, "image/webp")
    except Exception as exc:  # the result is written; only the preview is missing
        log.warning("no thumbnail: %s", exc, exc_info=True)
        notes.append(f"no thumbnail was written ({type(exc).__name__})")
        return None
    return {
        "file": imageio.THUMBNAIL_NAME,
        "width": thumb.width,
        "height": thumb.height,
        "bytes": len(thumb.data),
        "format": "webp",
    }


def resize_plane(plane: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    resized = cv2.resize(plane.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(resized, 0.0, 1.0)


def build_metadata(
    job: str,
    result: OperationOutput,
    decoded: imageio.DecodedImage,
    data: bytes,
    ext: str,
    options: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    """metadata.json with the same keys for every job; the operation fills what it knows."""
    metadata: dict[str, Any] = {
        "operation": job,
        "model": None,
        "weights": None,
        "weights_sha256": None,
        "fallback": False,
        "device": None,
        "precision": None,
        "tile": None,
        "tiles": None,
    }
    metadata.update({k: v for k, v in result.metadata.items() if k != "timings_s"})
    metadata["operation"] = job
    metadata["options"] = options
    metadata["input"] = {
        "width": decoded.width,
        "height": decoded.height,
        "bytes": decoded.bytes,
        "format": decoded.format,
        "mode": decoded.source_mode,
        "alpha": decoded.alpha is not None,
        "icc_profile": decoded.icc_profile is not None,
    }
    metadata["output"] = {
        "width": int(result.image.shape[1]),
        "height": int(result.image.shape[0]),
        "bytes": len(data),
        "format": {"jpg": "jpeg"}.get(ext, ext),
    }
    metadata["notes"] = [*decoded.notes, *metadata.get("notes", []), *notes]
    return metadata


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


# --- process-level concerns: signals, logging ----------------------------------------------------------

# (output, job) of the job running in this process, for the stop handler.
_current_output: list[tuple[JobOutput, str]] = []


def _output_from_argv(argv: Sequence[str], settings: Settings | None) -> JobOutput | None:
    """Find --output in a command line that failed to parse, to still write error.json there."""
    lenient = argparse.ArgumentParser(add_help=False)
    lenient.add_argument("--output")
    try:
        known, _ = lenient.parse_known_args(argv)
        return open_output(known.output, settings or get_settings()) if known.output else None
    except (JobFailure, SystemExit):
        return None


def _write_error_quietly(output: JobOutput, failure: JobFailure, job: str | None) -> None:
    try:
        output.write_error(failure, job)
    except Exception:  # the exit code still tells the caller; do not hide the first failure
        traceback.print_exc(file=sys.stderr)


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
            for output, job in _current_output:
                message = f"The {job} job was stopped (signal {signal.Signals(signum).name}) before it finished."
                _write_error_quietly(output, JobFailure(message, "Stopped"), job)
        finally:
            os._exit(128 + signum)

    threading.Thread(target=wait_for_stop, name="stop-signal", daemon=True).start()


def run_process() -> None:
    """The console entry point (``python -m jobs``)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    install_stop_handler()
    sys.exit(main(process_started_at=process_start_time()))


def process_start_time() -> float | None:
    """When this process started (epoch s), from /proc: its start in clock ticks after boot.

    Used for timings_s.startup when no runner passed a spawn time (AWS Batch starts the container's
    process itself). None where /proc is not readable.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        started_after_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of proc(5)
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_after_boot
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return time.time() - age if age >= 0 else None
