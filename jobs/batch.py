"""Several images in one job: ``python -m jobs <job> --batch MANIFEST --options JSON``.

A job process pays its fixed costs once: starting Python, importing torch and the model's
libraries, loading the weights (measured at about 13.5 s of them per job on 2 cores, and a
container start and CUDA start-up on top in AWS). A batch job pays them once for all its images.

MANIFEST is a JSON list with one object per image, ``{"input": URI, "output": PREFIX_URI}`` and for
inpaint ``"mask": URI`` (the URIs of a one-image job's --input, --output and --mask). Each image
gets exactly what a one-image job writes, under its own prefix: the result, metadata.json and
progress.json, or error.json when that image failed. One bad image fails only itself; the images
run in the manifest's order, each one's result written as soon as it is done.

Exit code: 0 when at least one image succeeded (each failed one has its error.json), 1 when none
did, 2 for a manifest that cannot be read (nothing ran).
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, ValidationError

from aiorch.contracts import BATCH_MAX_IMAGES as MAX_BATCH_IMAGES  # one request's images, so one job's at most


class BatchImage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str
    output: str
    mask: str | None = None


class BadManifest(ValueError):
    """The manifest is not a list of images as described in this module's docstring."""


def parse_manifest(text: str) -> list[BatchImage]:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise BadManifest(f"--batch is not JSON: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise BadManifest('--batch must be a non-empty JSON list of {"input": URI, "output": URI} objects')
    if len(raw) > MAX_BATCH_IMAGES:
        raise BadManifest(f"--batch lists {len(raw)} images; one job takes at most {MAX_BATCH_IMAGES}")
    images = []
    for index, item in enumerate(raw):
        try:
            images.append(BatchImage.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "itself"
            raise BadManifest(f"--batch image {index}.{where}: {first['msg']}") from None
    outputs = [image.output for image in images]
    if len(set(outputs)) != len(outputs):
        raise BadManifest("--batch gives two images the same output prefix; each needs its own")
    return images
