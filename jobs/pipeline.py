"""One image through its job (DESIGN.md, "Contracts"): read the input (and mask) → decode → run the
operation module → encode → write ``result.<ext>`` (its provenance written in: jobs/provenance.py), any
extra files, ``thumbnail.webp`` and ``metadata.json``; ``progress.json`` is updated throughout.

compute_result and write_result are apart so a batch writes one image while the next computes
(jobs/runner.py). Operation modules are imported only when their job runs, so ``--help`` stays light
(no torch)."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import Any

from aiorch.contracts import JobStage
from aiorch.settings import Settings
from jobs import imageio, provenance
from jobs.arguments import split_options
from jobs.contract import JobFailure, OperationOutput
from jobs.devices import require_job_device
from jobs.encoding import encode_result, write_thumbnail
from jobs.job_storage import JobOutput, read_uri
from jobs.job_table import JOB_TYPES
from jobs.metadata import add_run_facts, build_metadata
from jobs.progress import ProgressWriter
from jobs.timing import JobClock


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
    add_run_facts(metadata, thumbnail=thumbnail, result=result, settings=settings, clock=clock)
    output.storage.put_json(output.key("metadata.json"), metadata)
    progress(JobStage.done, 1, 1)
    return metadata
