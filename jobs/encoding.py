"""Encoding a job's result: the result file's bytes (format, alpha, ICC) and thumbnail.webp."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from jobs import imageio
from jobs.contract import OperationOutput
from jobs.job_storage import JobOutput

log = logging.getLogger("jobs")


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
