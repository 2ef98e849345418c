"""Text-likeness and glyph masks (jobs/text_detection.py, jobs/glyph_mask.py) on small generated images:
PP-OCR's readings of eyes and coins are dropped with their reasons; a line is masked by its own pixels
(fill, outline, anti-aliased edge), or by its box where they cannot be told from the background."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from jobs import glyph_mask, text_detection
from tests.unit.jobs.job_images import text_font


def line(text: str, score: float, box: list[int]) -> dict:
    x0, y0, x1, y1 = box
    return {"text": text, "score": score, "box": box, "polygon": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]}


@pytest.mark.parametrize(
    ("found", "reason"),
    [
        (line("0", 0.69, [235, 146, 439, 324]), "lone character"),  # an eye of scikit-image's cat, 900 px
        (line("8", 0.90, [10, 10, 60, 80]), "lone character"),  # a coffee cup
        (line("O ", 0.81, [687, 362, 888, 519]), "lone character"),  # a coin; spaces are no characters
        (line("0000", 0.68, [177, 323, 223, 358]), "below 0.80"),  # the camera man's coat
        (line("C000", 0.69, [268, 486, 333, 533]), "below 0.80"),
        (line("HELLO", 0.40, [10, 10, 90, 30]), "below min_score"),
        (line("HELLO WORLD", 0.99, [0, 0, 950, 950]), "of the image"),
    ],
)
def test_readings_that_are_not_text_are_dropped_with_their_reason(found: dict, reason: str) -> None:
    kept, dropped = text_detection.plausible_lines([found], 0.5, 1000, 1000)
    assert kept == []
    assert len(dropped) == 1 and reason in dropped[0]["reason"]


def test_real_lines_are_kept() -> None:
    lines = [line("SUMMER SALE", 0.97, [39, 37, 492, 96]), line("sam", 0.9997, [227, 359, 355, 400])]
    kept, dropped = text_detection.plausible_lines(lines, 0.5, 600, 900)
    assert kept == lines and dropped == []


def rendered(text: str, fill: tuple, background, stroke: int = 0, size: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(image float RGB, the text's exact pixels) of ``text`` drawn at (20, 20) on ``background``."""
    base = Image.fromarray(background)
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).text(
        (20, 20), text, font=text_font(size), fill=fill, stroke_width=stroke, stroke_fill=(0, 0, 0)
    )
    image = Image.alpha_composite(base.convert("RGBA"), layer).convert("RGB")
    return np.asarray(image, np.float32) / 255.0, np.asarray(layer)[..., 3] > 0


def gradient(height: int = 96, width: int = 320) -> np.ndarray:
    """A sky-like background: blue to orange from left to right, with mild noise."""
    t = np.linspace(0, 1, width)[None, :, None]
    sky = (1 - t) * np.array([40, 90, 200]) + t * np.array([230, 140, 60])
    noise = np.random.default_rng(0).normal(0, 4, (height, width, 3))
    return np.clip(np.broadcast_to(sky, (height, width, 3)) + noise, 0, 255).astype(np.uint8)


def text_box(truth: np.ndarray) -> list[list[float]]:
    ys, xs = np.nonzero(truth)
    x0, y0, x1, y1 = xs.min() - 2, ys.min() - 2, xs.max() + 3, ys.max() + 3
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


@pytest.mark.parametrize(
    ("fill", "stroke"), [((255, 255, 255, 255), 0), ((250, 220, 40, 255), 2), ((10, 10, 10, 255), 0)]
)
def test_the_glyph_mask_is_the_text_not_its_box(fill: tuple, stroke: int) -> None:
    image, truth = rendered("Text 42", fill, gradient(), stroke)
    height, width = truth.shape
    polygon = text_box(truth)
    mask, kinds = text_detection.text_pixels_mask(image, [{"polygon": polygon}], dilate_px=8)
    assert kinds == ["glyphs"]
    assert mask[truth].mean() > 0.97  # the fill, outline and anti-aliased edge
    box = text_detection.polygons_mask([polygon], height, width, 0)
    assert mask.sum() < 0.8 * box.sum()  # not the box
    assert not (mask & ~text_detection.polygons_mask([polygon], height, width, 4)).any()  # nothing far away


def test_text_the_colour_of_its_background_falls_back_to_the_box() -> None:
    background = np.full((96, 320, 3), 120, np.uint8)
    image, truth = rendered("faint", (126, 120, 120, 255), background)
    polygon = text_box(truth)
    mask, kinds = text_detection.text_pixels_mask(image, [{"polygon": polygon}], dilate_px=8)
    assert kinds[0].startswith("box: ")
    assert mask[text_detection.polygons_mask([polygon], *truth.shape, 8)].all()


def test_strokes_are_thin_and_a_blob_is_not() -> None:
    disc = np.zeros((60, 60), bool)
    yy, xx = np.mgrid[:60, :60]
    disc[(yy - 30) ** 2 + (xx - 30) ** 2 < 25**2] = True
    _, truth = rendered("HELLO", (255, 255, 255, 255), np.zeros((96, 320, 3), np.uint8))
    ys = np.nonzero(truth)[0]
    assert glyph_mask.stroke_ratio(disc, 50) > 0.5
    assert glyph_mask.stroke_ratio(truth, ys.max() - ys.min()) < 0.3


def test_no_lines_no_mask() -> None:
    mask, kinds = text_detection.text_pixels_mask(np.zeros((20, 30, 3), np.float32), [], 8)
    assert not mask.any() and kinds == []
