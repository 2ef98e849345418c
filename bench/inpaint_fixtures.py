"""Photos for measuring text removal: scikit-image photos with no text, and the same kind of photos with
text rendered on them (so the clean photo is known), all made here, offline and deterministically.

A text fixture keeps the clean photo, the photo with text, the exact pixels each line of text covers
(rendered alone, anti-aliasing and outline included) and each line's box. ``python -m bench inpaint``
(bench/inpaint.py) and the tests use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts"))


@dataclass
class TextFixture:
    name: str
    clean: np.ndarray  # float32 HxWx3 in [0, 1]
    texted: np.ndarray  # the same photo with the text drawn on it
    glyphs: np.ndarray  # bool HxW: pixels the text changed (fill, outline, anti-aliased edge)
    boxes: list[list[int]] = field(default_factory=list)  # [x0, y0, x1, y1] per line, as drawn
    words: list[str] = field(default_factory=list)  # each line's text


@cache
def font_path(name: str) -> Path:
    """A font file by name (e.g. DejaVuSans-Bold.ttf): the system's DejaVu, else matplotlib's copy."""
    for folder in FONT_DIRS:
        hits = sorted(folder.rglob(name)) if folder.is_dir() else []
        if hits:
            return hits[0]
    try:
        import matplotlib

        bundled = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
        if bundled.is_file():
            return bundled
    except ImportError:
        pass
    raise FileNotFoundError(f"no font {name} on this machine (install fonts-dejavu-core)")


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(name)), size)


def photo(name: str, width: int) -> np.ndarray:
    """scikit-image's photo ``name`` as float32 RGB, resized to ``width`` px wide (its aspect kept)."""
    import cv2
    from skimage import data

    pixels = getattr(data, name)()
    if isinstance(pixels, tuple):  # stereo_motorcycle: (left, right, disparity)
        pixels = pixels[0]
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8) * 255
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    pixels = pixels[..., :3]
    height = round(pixels.shape[0] * width / pixels.shape[1])
    interpolation = cv2.INTER_AREA if width < pixels.shape[1] else cv2.INTER_CUBIC
    resized = cv2.resize(pixels, (width, height), interpolation=interpolation)
    return np.clip(resized.astype(np.float32) / 255.0, 0, 1)


# Photos with no text in them, each at two sizes: OCR must find nothing worth masking in any of them.
# (stereo_motorcycle is not one: its bike carries "YAMAHA" twice, which OCR reads at 0.87 to 0.98.)
TEXT_FREE = (
    "chelsea",
    "coffee",
    "astronaut",
    "rocket",
    "camera",
    "immunohistochemistry",
    "hubble_deep_field",
    "coins",
    "brick",
    "grass",
    "gravel",
    "moon",
    "colorwheel",
    "retina",
    "horse",
    "clock",
    "cell",
)
TEXT_FREE_WIDTHS = (600, 900)


def text_free_photos(widths: tuple[int, ...] = TEXT_FREE_WIDTHS) -> list[tuple[str, np.ndarray]]:
    return [(f"{name}@{width}", photo(name, width)) for name in TEXT_FREE for width in widths]


@dataclass(frozen=True)
class Line:
    text: str
    xy: tuple[float, float]  # top-left, as fractions of the width and height
    font: str
    size: float  # as a fraction of the image height
    fill: tuple[int, ...]  # RGB, or RGBA for see-through text
    stroke: int = 0
    stroke_fill: tuple[int, int, int] = (0, 0, 0)


# name: (photo, width, lines). Several fonts, weights, colours, outlines and backgrounds.
TEXT_SPECS: dict[str, tuple[str, int, tuple[Line, ...]]] = {
    "chelsea-caption": (
        "chelsea",
        900,
        (
            Line("SUMMER SALE", (0.05, 0.06), "DejaVuSans-Bold.ttf", 0.09, (255, 255, 255), 3),
            Line("Only this weekend", (0.30, 0.84), "DejaVuSans.ttf", 0.06, (255, 255, 255), 2),
        ),
    ),
    "coffee-serif": (
        "coffee",
        900,
        (
            Line("Fresh Coffee Daily", (0.08, 0.05), "DejaVuSerif-Bold.ttf", 0.08, (250, 220, 40)),
            Line("since 1987", (0.60, 0.88), "DejaVuSerif-Italic.ttf", 0.055, (255, 255, 255)),
        ),
    ),
    "astronaut-red": (
        "astronaut",
        768,
        (
            Line("MISSION CONTROL", (0.04, 0.04), "DejaVuSansCondensed-Bold.ttf", 0.07, (220, 30, 30)),
            Line("Houston 1969", (0.52, 0.90), "DejaVuSans.ttf", 0.05, (20, 20, 20)),
        ),
    ),
    "rocket-mono": (
        "rocket",
        900,
        (
            Line("LAUNCH DAY", (0.05, 0.10), "DejaVuSansMono-Bold.ttf", 0.08, (10, 10, 60)),
            Line("T-minus 10", (0.62, 0.30), "DejaVuSansMono.ttf", 0.05, (255, 255, 255), 2),
        ),
    ),
    "motorcycle-meme": (
        "stereo_motorcycle",
        900,
        (
            Line("WHEN THE BIKE", (0.12, 0.03), "DejaVuSans-Bold.ttf", 0.10, (255, 255, 255), 4),
            Line("IS FASTER THAN YOU", (0.05, 0.84), "DejaVuSans-Bold.ttf", 0.10, (255, 255, 255), 4),
        ),
    ),
    "immuno-watermark": (
        "immunohistochemistry",
        768,
        (
            Line("sample photo", (0.30, 0.45), "DejaVuSans-Bold.ttf", 0.07, (255, 255, 255, 150)),
            Line("lab archive 2026", (0.60, 0.93), "DejaVuSans.ttf", 0.035, (0, 0, 0)),
        ),
    ),
    "coins-small": (
        "coins",
        900,
        (Line("Coin collection, plate 4", (0.04, 0.02), "DejaVuSerif.ttf", 0.045, (255, 255, 255), 1),),
    ),
}


def text_fixture(name: str) -> TextFixture:
    photo_name, width, lines = TEXT_SPECS[name]
    clean = photo(photo_name, width)
    height = clean.shape[0]
    canvas = Image.fromarray((clean * 255 + 0.5).astype(np.uint8)).convert("RGBA")
    glyphs = np.zeros((height, width), bool)
    boxes, words = [], []
    for line in lines:
        layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        typeface = font(line.font, max(8, round(line.size * height)))
        xy = (line.xy[0] * width, line.xy[1] * height)
        fill = line.fill if len(line.fill) == 4 else (*line.fill, 255)
        draw.text(xy, line.text, font=typeface, fill=fill, stroke_width=line.stroke, stroke_fill=line.stroke_fill)
        canvas = Image.alpha_composite(canvas, layer)
        alpha = np.asarray(layer)[..., 3] > 0
        glyphs |= alpha
        ys, xs = np.nonzero(alpha)
        boxes.append([int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1])
        words.append(line.text)
    texted = np.asarray(canvas.convert("RGB")).astype(np.float32) / 255.0
    clean8 = (clean * 255 + 0.5).astype(np.uint8).astype(np.float32) / 255.0  # as a PNG would hold it
    return TextFixture(name, clean8, texted, glyphs, boxes, words)


def text_fixtures() -> list[TextFixture]:
    return [text_fixture(name) for name in TEXT_SPECS]
