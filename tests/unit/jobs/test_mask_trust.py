"""Masks the user can trust: implausible OCR lines are dropped and named, a whole-image mask and a result
equal to its input are warnings in the metadata."""

from __future__ import annotations

import numpy as np

from jobs import inpaint, text_detection
from jobs.contract import no_progress


def line(text: str, score: float, box: list[int]) -> dict[str, object]:
    x0, y0, x1, y1 = box
    return {"text": text, "score": score, "box": box, "polygon": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]}


def test_a_box_over_most_of_the_image_and_a_low_score_are_dropped_and_named() -> None:
    lines = [
        line("88", 0.95, [0, 0, 100, 100]),
        line("SALE", 0.93, [10, 10, 40, 20]),
        line("66", 0.96, [0, 0, 65, 65]),
        line("xy", 0.3, [50, 50, 60, 60]),
        line("8", 0.99, [70, 70, 80, 80]),
    ]
    kept, dropped = text_detection.plausible_lines(lines, 0.5, 100, 100)
    assert [k["text"] for k in kept] == ["SALE"]
    assert [(d["text"], d["reason"]) for d in dropped] == [
        ("88", "box covers 100% of the image (more than 25%)"),
        ("66", "box covers 42% of the image (more than 25%)"),
        ("xy", "score 0.30 below min_score 0.50"),
        ("8", "1 letter(s) or digit(s): a lone character is no text (eyes read as '0')"),
    ]


def test_a_whole_image_mask_is_a_warning(monkeypatch) -> None:
    monkeypatch.setattr(text_detection, "ocr_metadata", lambda: {"model": "ocr"})
    image = np.zeros((32, 32, 3), dtype=np.float32)
    whole = np.ones((32, 32), dtype=bool)
    out = text_detection.run(image, {"use_ocr": False}, no_progress, mask=whole)
    assert out.metadata["warnings"] == ["the mask covers 100% of the image: inpainting has almost nothing to fill from"]
    partial = np.zeros((32, 32), dtype=bool)
    partial[4:8, 4:8] = True
    assert text_detection.run(image, {"use_ocr": False}, no_progress, mask=partial).metadata["warnings"] == []


def test_a_result_equal_to_its_input_is_a_warning() -> None:
    flat = np.zeros((48, 48, 3), dtype=np.float32)  # nothing to differ from: the fill equals the input
    mask = np.zeros((48, 48), dtype=bool)
    mask[10:20, 10:20] = True
    out = inpaint.run(flat, {}, no_progress, mask=mask)
    assert out.metadata["warnings"] == ["the result equals the input: no pixel under the mask changed"]
    rng = np.random.default_rng(0)
    textured = rng.random((48, 48, 3), dtype=np.float32)
    assert inpaint.run(textured, {}, no_progress, mask=mask).metadata["warnings"] == []
