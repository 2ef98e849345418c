"""The image formats uploads accept: extensions, content types, and reading a header."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

from aiorch.analysis.errors import BadRequest
from aiorch.operations import MIN_SIDE_PX

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


def pixel_limit_problem(
    width: int, height: int, max_pixels: int, limit_in_words: str, what: str = "input image"
) -> str | None:
    """Why an image of width×height is refused for its pixel count, or None. The words are ValidateInput's
    and the browser's (lambdas/validate_input/validation.py, frontend/src/lib/precheck.ts)."""
    if width * height <= max_pixels:
        return None
    return (
        f"the {what} is {width}×{height} = {width * height / 1e6:.1f} megapixels; "
        f"{limit_in_words} {max_pixels / 1e6:.0f} megapixels"
    )


def min_side_problem(width: int, height: int, min_side_px: int, what: str = "input image") -> str | None:
    """Why an image of width×height is refused as too small, or None. The same words as the browser's
    (frontend/src/lib/precheck.ts) and ValidateInput's."""
    if min(width, height) >= min_side_px:
        return None
    return f"the {what} is {width}×{height}; each side must be at least {min_side_px} pixels"


def _png_ihdr_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR, the chunk that must come first, when its CRC holds; else None."""
    if len(data) < 33 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        return None
    if zlib.crc32(data[12:29]) != struct.unpack(">I", data[29:33])[0]:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width and height else None


def _header_past_pillows_limit(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of an image Pillow's ``Image.open`` refuses as a decompression bomb.

    ``Image.open`` reads the header, then raises on its size without saying the size; the format's own
    header reader (the factory ``Image.open`` itself calls) gives it. Neither reads a pixel.
    """
    from PIL import Image

    Image.init()
    prefix = data[:16]
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        if accept is not None and accept(prefix) is not True:
            continue
        try:
            header = factory(io.BytesIO(data), "")
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue
        with header:
            return header.format or fmt, header.size[0], header.size[1]
    raise ValueError("no image format reads this header")  # Image.open read it: not reached in practice


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def truncation_problem(data: bytes, fmt: str) -> str | None:
    """Why a PNG or JPEG is cut short, in plain words; None when its structure is whole (or it is
    another format). Cheap: it follows the chunk and segment lengths, and decodes no pixel.

    PNG: every chunk's length must fit in the file, up to the IEND chunk. JPEG: after the segments
    before the (first) scan, whose lengths skip embedded thumbnails, an end-of-image marker must come.
    """
    if fmt == "PNG":
        return _png_truncation(data)
    if fmt == "JPEG":
        return _jpeg_truncation(data)
    return None


def _png_truncation(data: bytes) -> str | None:
    if not data.startswith(PNG_SIGNATURE):
        return "the file is a damaged or truncated PNG: no PNG signature"
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if length > 2**31 - 1:
            return "the file is a damaged or truncated PNG: a chunk length over the format's limit"
        end = at + 12 + length  # length, type, data, CRC
        if end > len(data):
            return f"the file is a damaged or truncated PNG: its {kind.decode('latin-1')!r} chunk is cut short"
        if kind == b"IEND":
            return None
        at = end
    return "the file is a damaged or truncated PNG: it ends before its IEND chunk"


def _jpeg_truncation(data: bytes) -> str | None:
    if not data.startswith(b"\xff\xd8"):
        return "the file is a damaged or truncated JPEG: no start-of-image marker"
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return "the file is a damaged or truncated JPEG: a segment does not start with a marker"
        marker = data[at + 1]
        if marker == 0xFF:  # fill bytes before a marker
            at += 1
            continue
        if marker == 0xD9:
            return "the file is a damaged or truncated JPEG: it ends before any image data"
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            at += 2
            continue
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        if length < 2 or at + 2 + length > len(data):
            return "the file is a damaged or truncated JPEG: a segment is cut short"
        at += 2 + length
        if marker == 0xDA:  # start of scan: the compressed data follows, then (after any more scans) EOI
            if data.find(b"\xff\xd9", at) == -1:
                return "the file is a damaged or truncated JPEG: it ends before its end-of-image marker"
            return None
    return "the file is a damaged or truncated JPEG: it ends before its image data"


# ISO base media files (HEIF/AVIF): bytes 4-8 are "ftyp", then the major brand.
_BMFF_BRANDS = {
    b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"heim": "HEIC", b"heis": "HEIC", b"hevm": "HEIC",
    b"hevs": "HEIC", b"mif1": "HEIC", b"msf1": "HEIC", b"avif": "AVIF", b"avis": "AVIF",
}  # fmt: skip
UNSUPPORTED_CONTENT_TYPES = {"image/heic": "HEIC", "image/heif": "HEIC", "image/avif": "AVIF"}


def unsupported_format(data: bytes) -> str | None:
    """The name of a known image format this service does not read yet (an iPhone's HEIC), else None."""
    return _BMFF_BRANDS.get(data[8:12]) if data[4:8] == b"ftyp" else None


def unsupported_in_words(name: str) -> str:
    return f"{name} is not supported yet: convert it to JPEG or PNG first (accepted: {ACCEPTED_IN_WORDS})"


def sniff_image(
    data: bytes, max_pixels: int, *, what: str = "input image", limit_in_words: str = "no operation accepts more than"
) -> tuple[str, int, int]:
    """(format, width, height) from the header, or BadRequest. Pixels are not decoded here. The one
    reading of an image's header: the upload (against the largest limit of any operation) and
    ValidateInput (against its operation's limit, ``limit_in_words`` "the limit for this operation is").

    An image over ``max_pixels`` is refused with its size and the limit (a valid 60000×60000 PNG is too
    large, not "not an image"); one with a side under MIN_SIDE_PX as too small; a PNG or JPEG cut short
    as damaged or truncated (``truncation_problem``: its structure, not its pixels).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Over Pillow's own threshold it warns (then refuses at twice it): the limit below is ours.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt, width, height = image.format or "unknown", image.size[0], image.size[1]
    except Image.DecompressionBombError:
        fmt, width, height = _header_past_pillows_limit(data)
    except UnidentifiedImageError:
        claimed = _png_ihdr_size(data)
        if claimed is None:
            unsupported = unsupported_format(data)
            if unsupported is not None:
                raise BadRequest(unsupported_in_words(unsupported)) from None
            raise BadRequest(f"the file is not an image (accepted: {ACCEPTED_IN_WORDS})") from None
        # A PNG cut short after its header (as the browser's check reads it): its size still decides first.
        too_large = pixel_limit_problem(*claimed, max_pixels, limit_in_words, what)
        raise BadRequest(
            too_large or f"the file is a damaged or truncated PNG (its header says {claimed[0]}×{claimed[1]})"
        ) from None
    except Exception as exc:
        raise BadRequest(f"the file could not be read as an image: {exc}") from None
    too_large = pixel_limit_problem(width, height, max_pixels, limit_in_words, what)
    if too_large is not None:
        raise BadRequest(too_large)
    too_small = min_side_problem(width, height, MIN_SIDE_PX, what)
    if too_small is not None:
        raise BadRequest(too_small)
    truncated = truncation_problem(data, fmt)  # Pillow read only the header: a file cut short passed it
    if truncated is not None:
        raise BadRequest(truncated)
    return fmt, width, height
