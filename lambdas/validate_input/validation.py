"""ValidateInput's logic: is this request safe and sensible to hand to a GPU job?

Every refusal is an ``InvalidRequest`` with a plain-words message; the state
machine never retries it, so no job starts for a bad request.
"""

from __future__ import annotations

import json
from typing import Any

from aiorch import keys
from aiorch.analysis.errors import BadRequest
from aiorch.analysis.media import ACCEPTED_IN_WORDS, EXTENSIONS, size_in_words, sniff_image
from aiorch.contracts import (
    JOBS_FOR_OPERATION,
    STATE_FOR_JOB,
    AnalysisRequest,
    ChunkSpec,
    JobSpec,
    Operation,
    RejectedImage,
    ValidatedRequest,
)
from aiorch.index.stages import share_identifier
from aiorch.operations import OptionError, check_options
from aiorch.registry import JOBS, OPERATIONS
from aiorch.settings import Settings
from aiorch.storage import NotFound, Storage

ALLOWED_FORMATS = frozenset(EXTENSIONS)  # the formats uploads accept (aiorch.analysis.media)
# The operations whose registry module accepts a mask, in words ("the inpaint operation").
_MASK_TAKERS = " or ".join(f"the {name} operation" for name, o in OPERATIONS.items() if o.accepts_mask)


class InvalidRequest(Exception):
    """The request cannot run; the message says why in plain words. Never retried."""


def _operation(value: str) -> Operation:
    try:
        return Operation(value)
    except ValueError:
        choices = ", ".join(o.value for o in Operation)
        raise InvalidRequest(f"unknown operation {value!r}: choose one of {choices}") from None


def _check_options(operation: Operation, options: dict[str, Any]) -> None:
    """Names and values against the operation's schema (aiorch.operations), as the API checks them."""
    try:
        check_options(operation, options)
    except OptionError as exc:
        raise InvalidRequest(exc.message) from None


def inspect_image(storage: Storage, key: str, user: str, max_bytes: int, max_pixels: int, what: str) -> dict:
    """Check an uploaded object: the user's, present, an image by its bytes, complete, within limits."""
    if not keys.is_under_user(key, user) or not key.startswith("uploads/"):
        raise InvalidRequest(f"the {what} {key!r} is not one of your uploads")
    size = storage.size(key)
    if size is None:
        raise InvalidRequest(f"the {what} {key!r} does not exist (was the upload finished?)")
    if size == 0:
        raise InvalidRequest(f"the {what} is an empty file")
    if size > max_bytes:
        raise InvalidRequest(f"the {what} is {size_in_words(size)}; the limit is {size_in_words(max_bytes)}")
    try:
        data = storage.get_bytes(key)
    except NotFound:
        raise InvalidRequest(f"the {what} {key!r} does not exist") from None
    try:
        # The header, as the upload reads it (aiorch.analysis.media), against this operation's limits.
        fmt, width, height = sniff_image(data, max_pixels, what=what, limit_in_words="the limit for this operation is")
    except BadRequest as exc:
        raise InvalidRequest(exc.message) from None
    if fmt not in ALLOWED_FORMATS:
        raise InvalidRequest(f"the {what} is {fmt}; accepted formats are {ACCEPTED_IN_WORDS}")
    # No decode of the pixels here: sniff_image's structural check (PNG chunks to IEND, JPEG segments to
    # EOI) refuses a file cut short, and a complete file with damaged pixels fails its job in plain
    # words. A full decode of a batch of large PNGs could outlast this Lambda (1 GB, 45 s, ~0.6 vCPU).
    return {"width": width, "height": height, "bytes": size, "format": fmt}


def validate_request(request: AnalysisRequest, storage: Storage, settings: Settings) -> ValidatedRequest:
    operation = _operation(request.operation)
    _check_options(operation, request.options)
    if request.mask_key and not OPERATIONS[operation.value].accepts_mask:
        raise InvalidRequest(f"a mask is only used by {_MASK_TAKERS}")
    if request.is_batch:
        return validate_batch(request, operation, storage, settings)

    image = inspect_image(
        storage,
        request.input_key,
        request.user,
        settings.upload_max_bytes,
        settings.max_pixels(operation),
        "input image",
    )
    if request.mask_key:
        inspect_image(
            storage,
            request.mask_key,
            request.user,
            settings.upload_max_bytes,
            settings.max_pixels(operation),
            "mask",
        )

    options_json = json.dumps(request.options, sort_keys=True)
    input_uri = storage.uri(request.input_key)
    jobs: dict[str, JobSpec] = {}
    for kind in JOBS_FOR_OPERATION[operation]:
        prefix = keys.result_prefix(request.user, request.execution_id, kind.value)
        command = [
            kind.value,
            "--input",
            input_uri,
            "--output",
            storage.uri(prefix),
            "--options",
            options_json,
        ]
        job = JOBS[kind.value]
        if job.mask_from is not None:  # inpaint: the text mask its detect-text job wrote
            mask_prefix = keys.result_prefix(request.user, request.execution_id, job.mask_from)
            command += ["--mask", storage.uri(mask_prefix + "mask.png")]
        elif job.mask != "none" and request.mask_key:  # detect-text: added to the text mask
            command += ["--mask", storage.uri(request.mask_key)]
        jobs[STATE_FOR_JOB[kind]] = JobSpec(
            kind=kind,
            name=f"{request.execution_id}-{kind.value}",
            output_prefix=prefix,
            command=command,
            share=share_identifier(request.user),
        )
    return ValidatedRequest(
        operation=operation,
        input_key=request.input_key,
        width=image["width"],
        height=image["height"],
        bytes=image["bytes"],
        format=image["format"],
        jobs=jobs,
    )


def validate_batch(
    request: AnalysisRequest, operation: Operation, storage: Storage, settings: Settings
) -> ValidatedRequest:
    """A batch: each image checked as a single one would be; a refused image fails alone (``rejected``)
    and the others are cut into chunks of ``batch_chunk_images``, one job per chunk and job kind."""
    if request.mask_key:
        raise InvalidRequest("a mask belongs to one image: a batch of inpaints masks the text OCR finds in each")
    if len(request.input_keys) > settings.batch_max_images:
        raise InvalidRequest(f"a batch takes at most {settings.batch_max_images} images, not {len(request.input_keys)}")
    accepted: list[tuple[int, str, dict]] = []
    rejected: list[RejectedImage] = []
    for index, key in enumerate(request.input_keys):
        try:
            info = inspect_image(
                storage, key, request.user, settings.upload_max_bytes, settings.max_pixels(operation), "input image"
            )
        except InvalidRequest as exc:
            rejected.append(RejectedImage(index=index, message=str(exc)))
            continue
        accepted.append((index, key, info))
    if not accepted:
        first = rejected[0]
        raise InvalidRequest(f"none of the {len(rejected)} images can run; image {first.index + 1}: {first.message}")

    options_json = json.dumps(request.options, sort_keys=True)
    size = settings.batch_chunk_images
    chunks = []
    for number, start in enumerate(range(0, len(accepted), size)):
        part = accepted[start : start + size]
        jobs = []
        for kind in JOBS_FOR_OPERATION[operation]:
            manifest = []
            for index, key, _ in part:
                out = keys.batch_image_prefix(request.user, request.execution_id, kind.value, index)
                image: dict[str, str] = {"input": storage.uri(key), "output": storage.uri(out)}
                mask_from = JOBS[kind.value].mask_from  # inpaint: each image's own text mask, from detect-text
                if mask_from is not None:
                    text = keys.batch_image_prefix(request.user, request.execution_id, mask_from, index)
                    image["mask"] = storage.uri(text + "mask.png")
                manifest.append(image)
            jobs.append(
                JobSpec(
                    kind=kind,
                    name=f"{request.execution_id}-{kind.value}-{number}",
                    output_prefix=keys.result_prefix(request.user, request.execution_id, kind.value),
                    command=[kind.value, "--batch", json.dumps(manifest), "--options", options_json],
                    share=share_identifier(request.user),
                )
            )
        chunks.append(ChunkSpec(images=[index for index, _, _ in part], jobs=jobs))
    _, first_key, first_image = accepted[0]
    return ValidatedRequest(
        operation=operation,
        input_key=first_key,
        width=first_image["width"],
        height=first_image["height"],
        bytes=first_image["bytes"],
        format=first_image["format"],
        jobs={},
        batch=True,
        chunks=chunks,
        rejected=rejected,
    )
