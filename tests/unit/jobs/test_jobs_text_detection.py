"""detect-text: PP-OCR from the rapidocr wheel reads rendered text offline; the mask is the dilated
text polygons, unioned with a user mask."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from jobs import text_detection
from jobs.contract import JobFailure, OperationOutput, no_progress
from tests.unit.jobs.job_images import WORDS, astronaut, photo_with_text


@pytest.fixture(scope="module")
def detected() -> tuple[np.ndarray, OperationOutput]:
    """One OCR run, shared: OCR on two CPU cores takes seconds. The network is cut while it runs."""
    image = np.asarray(photo_with_text(384), np.float32) / 255.0
    user_mask = np.zeros(image.shape[:2], bool)
    user_mask[180:200, 300:340] = True
    original_connect = socket.socket.connect

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("detect-text tried to reach the network")

    socket.socket.connect = no_network  # type: ignore[method-assign]
    text_detection._engine.cache_clear()
    try:
        output = text_detection.run(image, {"dilate_px": 6}, no_progress, mask=user_mask)
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
    return image, output


def test_reads_every_rendered_word_offline(detected: tuple[np.ndarray, OperationOutput]) -> None:
    _, output = detected
    lines = json.loads(output.extra_files["text.json"])["lines"]
    read = " ".join(line["text"].upper() for line in lines)
    for word in WORDS:
        assert word in read
    assert all(line["score"] >= 0.5 and len(line["polygon"]) == 4 for line in lines)


def test_mask_covers_the_text_not_its_boxes_and_the_user_mask(detected: tuple[np.ndarray, OperationOutput]) -> None:
    image, output = detected
    mask = output.image
    assert mask.dtype == bool and mask.shape == image.shape[:2]
    lines = json.loads(output.extra_files["text.json"])["lines"]
    assert [line["mask"] for line in lines] == ["glyphs"] * len(lines)
    # The rendered text's own pixels (yellow and white fills, black outlines), drawn again alone.
    drawn = np.abs(image - np.asarray(astronaut(384), np.float32) / 255.0).max(axis=2) > 0.1
    # Measured 0.85: the white fill of "OPEN SOURCE" over the astronaut's white suit is the background's
    # colour, so only its black outline stands out (OCR cannot read what is left: the acceptance test).
    assert drawn.any() and mask[drawn & ~near_user_mask(mask.shape)].mean() > 0.8
    for line in lines:
        x0, y0, x1, y1 = line["box"]
        assert 0.1 < mask[y0:y1, x0:x1].mean() < 0.9  # glyphs, not the box
    assert mask[180:200, 300:340].all()
    assert output.metadata["mask_kinds"] == {"glyphs": len(lines)}


def near_user_mask(shape: tuple[int, ...]) -> np.ndarray:
    near = np.zeros(shape, bool)
    near[180:200, 300:340] = True
    return near


def test_metadata_names_the_packaged_models(detected: tuple[np.ndarray, OperationOutput]) -> None:
    _, output = detected
    metadata = output.metadata
    assert metadata["fallback"] is False and "PP-OCRv6" in metadata["model"]
    assert set(metadata["weights_sha256"]) == set(text_detection.PACKAGED_MODELS.values())
    assert metadata["text_lines"] >= 2
    assert "mask.png" in output.extra_files


def test_a_photo_without_text_gives_an_empty_mask() -> None:
    blank = np.full((64, 96, 3), 0.4, np.float32)
    output = text_detection.run(blank, {}, no_progress)
    assert not output.image.any()
    assert json.loads(output.extra_files["text.json"])["lines"] == []
    assert output.metadata["outcome"] == "No text found: nothing changed"


@pytest.mark.slow
def test_the_cats_eyes_are_no_text() -> None:
    """PP-OCR reads each eye of scikit-image's cat (900 px wide) as a "0" at 0.69, over the old cut-off."""
    from bench.inpaint_fixtures import photo

    output = text_detection.run(photo("chelsea", 900), {}, no_progress)
    assert not output.image.any()
    assert output.metadata["outcome"] == "No text found: nothing changed"
    assert output.metadata["text_lines"] == 0 and output.metadata["dropped_lines"]
    assert all("lone character" in line["reason"] for line in output.metadata["dropped_lines"])


def test_a_drawn_mask_is_filled_even_when_no_text_is_found() -> None:
    blank = np.full((64, 96, 3), 0.4, np.float32)
    drawn = np.zeros((64, 96), bool)
    drawn[10:20, 10:40] = True
    output = text_detection.run(blank, {}, no_progress, mask=drawn)
    assert (output.image == drawn).all()
    assert "outcome" not in output.metadata


def test_polygons_are_dilated_by_a_disc() -> None:
    mask = text_detection.polygons_mask([[[10, 10], [19, 10], [19, 19], [10, 19]]], 40, 40, dilate_px=4)
    assert mask[10:20, 10:20].all()
    assert mask[6, 15] and mask[15, 23] and not mask[5, 15]
    assert not mask[6, 6]  # the corner is rounded, as a disc would make it


def test_a_user_mask_of_another_size_is_scaled_when_shapes_match() -> None:
    small = np.zeros((10, 20), bool)
    small[0:5, 0:10] = True
    fitted = text_detection.fit_user_mask(small, 40, 80)
    assert fitted.shape == (40, 80) and fitted[:20, :40].all() and not fitted[20:, 40:].any()


def test_a_user_mask_of_another_shape_is_refused() -> None:
    with pytest.raises(JobFailure, match="differ too much"):
        text_detection.fit_user_mask(np.zeros((10, 10), bool), 40, 80)


@pytest.mark.parametrize(
    "options", [{"dilate_px": -1}, {"dilate_px": 2.5}, {"min_score": "high"}, {"use_ocr": "maybe"}]
)
def test_bad_option_values_are_refused(options: dict) -> None:
    (name,) = options
    with pytest.raises(JobFailure, match=f"^Bad options for the detect-text job: option '{name}' must be "):
        text_detection.run(np.zeros((8, 8, 3), np.float32), options, no_progress)


def test_without_ocr_the_mask_is_the_users_alone() -> None:
    image = np.asarray(photo_with_text(128), np.float32) / 255.0
    user_mask = np.zeros((128, 128), bool)
    user_mask[10:20, 30:60] = True
    output = text_detection.run(image, {"use_ocr": False}, no_progress, mask=user_mask)
    np.testing.assert_array_equal(output.image, user_mask)
    assert json.loads(output.extra_files["text.json"])["ocr"] is False
    assert output.metadata["model"] is None


def test_without_ocr_and_without_a_mask_there_is_nothing_to_do() -> None:
    with pytest.raises(JobFailure, match="use_ocr false"):
        text_detection.run(np.zeros((8, 8, 3), np.float32), {"use_ocr": False}, no_progress)


def test_options_meant_for_inpaint_are_accepted() -> None:
    # The inpaint operation hands one options object to both of its jobs.
    assert {"method", "device", "precision", "context_px"} <= text_detection.OPTIONS


class FakeOcrEngine:
    """Stands in for rapidocr: finds one "WORD" line at a fixed place in the middle of every tile."""

    def __init__(self) -> None:
        self.tile_shapes: list[tuple[int, int]] = []

    def __call__(self, bgr: np.ndarray) -> object:
        from types import SimpleNamespace

        height, width = bgr.shape[:2]
        self.tile_shapes.append((height, width))
        x, y = width // 2, height // 2
        box = [[[x - 20, y - 5], [x + 20, y - 5], [x + 20, y + 5], [x - 20, y + 5]]]
        return SimpleNamespace(boxes=np.asarray(box, float), txts=("WORD",), scores=(0.9,))


def test_large_photos_are_read_in_full_resolution_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeOcrEngine()
    monkeypatch.setattr(text_detection, "_engine", lambda: engine)
    monkeypatch.setattr(text_detection, "OCR_TILE", 100)
    monkeypatch.setattr(text_detection, "OCR_TILE_OVERLAP", 20)
    updates: list[tuple[str, int, int]] = []

    lines = text_detection.detect_text_tiled(np.zeros((150, 250, 3), np.float32), lambda *u: updates.append(u))

    assert len(engine.tile_shapes) == 6 and max(max(shape) for shape in engine.tile_shapes) <= 120
    centres = sorted(((b[0] + b[2]) // 2, (b[1] + b[3]) // 2) for b in (line["box"] for line in lines))
    assert len(centres) == 6 and all(0 < x < 250 and 0 < y < 150 for x, y in centres)
    assert lines[0]["polygon"][0][0] == lines[0]["box"][0]  # polygons moved with their boxes
    assert updates[-1] == ("detecting text", 6, 6)


def test_a_line_seen_in_two_overlapping_tiles_is_kept_once() -> None:
    first = {"text": "HELLO", "score": 0.9, "polygon": [], "box": [100, 10, 200, 30]}
    again = {"text": "HELL", "score": 0.7, "polygon": [], "box": [100, 10, 180, 30]}
    other = {"text": "WORLD", "score": 0.8, "polygon": [], "box": [300, 10, 400, 30]}
    assert text_detection.drop_duplicates([again, other, first]) == [first, other]
