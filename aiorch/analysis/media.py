"""The image formats uploads accept: extensions, content types, and reading a header."""

from __future__ import annotations

import io

from aiorch.analysis.errors import BadRequest

EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "TIFF": "tiff", "BMP": "bmp"}
CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
    "json": "application/json",
}


EXTENSION_FOR_CONTENT_TYPE = {CONTENT_TYPES[ext]: ext for ext in EXTENSIONS.values()}
ACCEPTED_IN_WORDS = "PNG, JPEG, WebP, TIFF, BMP"  # EXTENSIONS' formats, as messages name them


def size_in_words(size: int) -> str:
    """A byte count for a message: "100 bytes", "52.4 MB" (never rounded down to "0 MB")."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1e3:.3g} kB"
    return f"{size / 1e6:.3g} MB"


def content_type_for(key: str) -> str:
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def sniff_image(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) from the bytes, or BadRequest. Pixels are not decoded here."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.format or "unknown", image.size[0], image.size[1]
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise BadRequest(f"the file is not an image (accepted: {ACCEPTED_IN_WORDS})") from None
    except Exception as exc:
        raise BadRequest(f"the file could not be read as an image: {exc}") from None
