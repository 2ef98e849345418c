"""Images for the job tests (unit and functional): small real photos and the awkward files users upload.

Import as ``from tests.unit.jobs.job_images import ...``.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def astronaut(size: int = 64) -> Image.Image:
    """scikit-image's astronaut photo, resized to ``size`` px square."""
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.LANCZOS)


def astronaut_crop(size: int = 256) -> np.ndarray:
    """A ``size`` x ``size`` crop (face and suit) of the astronaut as float32 RGB in [0, 1]."""
    from skimage import data

    return data.astronaut()[100 : 100 + size, 150 : 150 + size].astype(np.float32) / 255.0


def encoded(image: Image.Image, fmt: str = "PNG", **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` but holds no real pixel data.

    Decoding its pixels fails, so a clear "too many pixels" error proves the
    limit was enforced from the header alone.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"garbage") + chunk(b"IEND", b"")


def with_exif_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(image, "JPEG", quality=95, exif=exif.tobytes())


def sixteen_bit_rgb_png(pixels: np.ndarray) -> bytes:
    """A 16-bit RGB PNG (Pillow cannot write one; OpenCV can)."""
    import cv2

    ok, data = cv2.imencode(".png", np.ascontiguousarray(pixels[..., ::-1]))
    assert ok
    return data.tobytes()


WORDS = ("HELLO", "WORLD", "OPEN", "SOURCE")


def text_font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans Bold: matplotlib's bundled copy, else the system's."""
    candidates = []
    try:
        import matplotlib

        candidates.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf")
    except ImportError:
        pass
    candidates.append(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))
    for path in candidates:
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    raise FileNotFoundError("no DejaVuSans-Bold.ttf found (install matplotlib or fonts-dejavu-core)")


def photo_with_text(size: int = 384) -> Image.Image:
    """The astronaut with two lines of large text in WORDS, as OCR should read them."""
    image = astronaut(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    font = text_font(size // 12)
    outline = {"stroke_width": 2, "stroke_fill": 0}
    draw.text((size // 16, size // 8), "HELLO WORLD", font=font, fill=(255, 255, 0), **outline)
    draw.text((size // 10, size * 3 // 4), "OPEN SOURCE", font=font, fill=(255, 255, 255), **outline)
    return image


def near_boxes(boxes: list[list[int]], height: int, width: int, margin: int) -> np.ndarray:
    """bool HxW: within ``margin`` px of any [x0, y0, x1, y1] box."""
    near = np.zeros((height, width), bool)
    for x0, y0, x1, y1 in boxes:
        near[max(0, y0 - margin) : y1 + margin + 1, max(0, x0 - margin) : x1 + margin + 1] = True
    return near
