"""inpaint: only masked pixels change; regions are cropped with context; LaMa runs when weights are
given (tested with random weights: the code path, padding and cropping, not quality), else OpenCV
Telea, named as a fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jobs import inpaint
from jobs.contract import JobFailure, no_progress
from tests.unit.jobs.job_images import astronaut_crop


def test_distant_mask_parts_get_separate_regions_with_context() -> None:
    mask = np.zeros((200, 300), bool)
    mask[10:20, 10:30] = True
    mask[150:160, 250:290] = True
    regions = inpaint.mask_regions(mask, context_px=16)
    assert regions == [inpaint.Region(0, 36, 0, 46), inpaint.Region(134, 176, 234, 300)]


def test_nearby_mask_parts_share_one_region() -> None:
    mask = np.zeros((100, 100), bool)
    mask[40:45, 10:20] = True
    mask[40:45, 40:50] = True
    assert inpaint.mask_regions(mask, context_px=16) == [inpaint.Region(24, 61, 0, 66)]


def test_merging_repeats_until_no_regions_overlap() -> None:
    a, b, c = inpaint.Region(0, 10, 0, 10), inpaint.Region(0, 10, 20, 30), inpaint.Region(5, 8, 5, 25)
    assert inpaint.merge_overlapping([a, b, c]) == [inpaint.Region(0, 10, 0, 30)]


@pytest.fixture
def no_contrib(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenCV without its contrib module (no FSR): auto falls back to Telea."""
    monkeypatch.setattr(inpaint, "fsr_available", lambda: False)


def test_an_empty_mask_changes_nothing() -> None:
    image = astronaut_crop(32)
    output = inpaint.run(image, {}, no_progress, mask=np.zeros((32, 32), bool))
    np.testing.assert_array_equal(output.image, image)
    assert output.metadata["tiles"] == 0 and "empty" in output.metadata["notes"][0]


def test_telea_fills_the_hole_from_its_surroundings_and_touches_nothing_else(no_contrib: None) -> None:
    image = np.full((64, 64, 3), 0.5, np.float32)
    image[20:30, 20:40] = 1.0  # a white stroke to remove
    image[0:5] = 0.2  # structure far from the hole
    mask = np.zeros((64, 64), bool)
    mask[18:32, 18:42] = True

    output = inpaint.run(image, {}, no_progress, mask=mask)

    np.testing.assert_array_equal(output.image[~mask], image[~mask])
    assert np.abs(output.image[20:30, 20:40] - 0.5).max() < 0.05
    assert output.metadata["weights"] == "fallback: opencv-telea" and output.metadata["fallback"] is True
    assert output.metadata["model"] == "opencv-telea" and output.metadata["masked_pixels"] == int(mask.sum())


def test_a_mask_of_another_shape_is_refused() -> None:
    with pytest.raises(JobFailure, match="differ too much"):
        inpaint.run(astronaut_crop(32), {}, no_progress, mask=np.zeros((10, 40), bool))


def test_bad_option_values_are_refused() -> None:
    with pytest.raises(JobFailure, match="context_px"):
        inpaint.run(astronaut_crop(16), {"context_px": 0}, no_progress, mask=np.ones((16, 16), bool))


@pytest.fixture(scope="module")
def random_lama_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised LaMa (big-lama's architecture) saved as fp16 safetensors (~100 MB)."""
    import torch
    from safetensors.torch import save_file
    from spandrel.architectures.LaMa import LaMa

    torch.manual_seed(0)
    state = LaMa(in_nc=4, out_nc=3).state_dict()
    path = tmp_path_factory.mktemp("lama") / "lama-random.safetensors"
    save_file({key: value.half().contiguous() for key, value in state.items()}, str(path))
    return path


@pytest.mark.slow
def test_lama_path_pads_crops_and_pastes_back_only_the_mask(random_lama_weights: Path) -> None:
    image = astronaut_crop(256)[:117, :203]  # odd sizes: padding to a multiple of 8 is needed
    mask = np.zeros(image.shape[:2], bool)
    mask[5:17, 3:40] = True  # two parts far apart: two crops
    mask[90:110, 150:201] = True
    options = {"weights": str(random_lama_weights), "context_px": 16, "max_side": 48}  # forces a downscale
    progress_seen: list[tuple[str, int, int]] = []

    output = inpaint.run(image, options, lambda *update: progress_seen.append(update), mask=mask)

    assert output.image.shape == image.shape and np.isfinite(output.image).all()
    np.testing.assert_array_equal(output.image[~mask], image[~mask])
    assert np.abs(output.image[mask] - image[mask]).mean() > 0  # the model did write the holes
    assert output.metadata["model"] == "LaMa" and output.metadata["fallback"] is False
    assert output.metadata["weights"] == str(random_lama_weights)
    assert len(output.metadata["weights_sha256"]) == 64
    assert output.metadata["tiles"] == 2
    assert progress_seen[-1] == ("inpainting", 2, 2)


@pytest.mark.slow
def test_lama_setting_selects_lama(random_lama_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiorch.settings import get_settings

    monkeypatch.setenv("AIORCH_LAMA_WEIGHTS", str(random_lama_weights))
    get_settings.cache_clear()
    mask = np.zeros((24, 24), bool)
    mask[8:12, 8:12] = True
    output = inpaint.run(astronaut_crop(24), {}, no_progress, mask=mask)  # smaller than LaMa's 16 px minimum
    assert output.metadata["model"] == "LaMa"


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    import torch
    from spandrel.architectures.DnCNN import DnCNN

    path = tmp_path / "dncnn.pth"
    torch.save(DnCNN().state_dict(), path)
    with pytest.raises(JobFailure, match="not LaMa"):
        inpaint.run(astronaut_crop(16), {"weights": str(path)}, no_progress, mask=np.ones((16, 16), bool))


def test_method_lama_without_weights_is_a_clear_error() -> None:
    with pytest.raises(JobFailure, match="LaMa needs weights"):
        inpaint.run(astronaut_crop(16), {"method": "lama"}, no_progress, mask=np.ones((16, 16), bool))


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"method": "magic"}, "option 'method' must be one of auto, lama, telea, not 'magic'"),
        ({"precision": "fp16"}, r"option 'precision' must be auto or fp32 for opencv-telea \(a classical method\)"),
    ],
)
def test_unknown_method_or_precision_is_refused(options: dict, words: str, no_contrib: None) -> None:
    with pytest.raises(JobFailure, match=words):
        inpaint.run(astronaut_crop(16), options, no_progress, mask=np.ones((16, 16), bool))


def test_options_meant_for_detect_text_are_accepted_and_ignored(no_contrib: None) -> None:
    # The inpaint operation hands one options object to both of its jobs.
    assert {"dilate_px", "use_ocr", "min_score"} <= inpaint.OPTIONS
    mask = np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True
    output = inpaint.run(astronaut_crop(16), {"dilate_px": 3, "use_ocr": False}, no_progress, mask=mask)
    assert output.metadata["model"] == "opencv-telea"


@pytest.mark.slow
def test_method_telea_wins_over_configured_weights(random_lama_weights: Path) -> None:
    mask = np.zeros((24, 24), bool)
    mask[8:12, 8:12] = True
    options = {"method": "telea", "weights": str(random_lama_weights)}
    output = inpaint.run(astronaut_crop(24), options, no_progress, mask=mask)
    assert output.metadata["weights"] == "fallback: opencv-telea"


def test_an_empty_mask_with_ocr_on_says_no_text_was_found() -> None:
    image = astronaut_crop(32)
    output = inpaint.run(image, {}, no_progress, mask=np.zeros((32, 32), bool))
    np.testing.assert_array_equal(output.image, image)
    assert output.metadata["outcome"] == "No text found: nothing changed"
    assert output.metadata["unchanged"] is True and output.metadata["warnings"] == []
    drawn_only = inpaint.run(image, {"use_ocr": False}, no_progress, mask=np.zeros((32, 32), bool))
    assert "outcome" not in drawn_only.metadata  # no OCR ran: no text was looked for


def test_without_opencv_contrib_auto_is_telea_and_says_so(no_contrib: None) -> None:
    mask = np.zeros((32, 32), bool)
    mask[10:14, 8:20] = True
    output = inpaint.run(astronaut_crop(32), {}, no_progress, mask=mask)
    assert output.metadata["weights"] == "fallback: opencv-telea"
    assert output.metadata["fillers"] == {"opencv-telea": 1}
    assert any("cv2.xphoto" in note for note in output.metadata["notes"])


@pytest.mark.skipif(not inpaint.fsr_available(), reason="needs opencv-contrib-python-headless (cv2.xphoto)")
def test_with_opencv_contrib_auto_is_fsr_and_touches_only_the_mask() -> None:
    image = np.full((64, 96, 3), 0.5, np.float32)
    image[:, ::8] = 0.3  # a pattern FSR can continue
    texted = image.copy()
    texted[28:34, 20:70] = 1.0
    mask = np.zeros((64, 96), bool)
    mask[27:35, 19:71] = True
    output = inpaint.run(texted, {}, no_progress, mask=mask)
    assert output.metadata["weights"] == "fallback: opencv-fsr-fast"
    assert output.metadata["fillers"] == {"opencv-fsr-fast": 1}
    np.testing.assert_array_equal(output.image[~mask], texted[~mask])
    assert np.abs(output.image[mask] - image[mask]).mean() < 0.05


@pytest.mark.skipif(not inpaint.fsr_available(), reason="needs opencv-contrib-python-headless (cv2.xphoto)")
def test_fsr_leaves_a_hole_too_large_for_its_time_to_telea() -> None:
    mask = np.zeros((32, 32), bool)
    mask[8:20, 8:20] = True
    fill = inpaint.fsr_fill(5, max_hole_pixels=100)
    fill(astronaut_crop(32), mask)
    assert fill.last_used == "opencv-telea"
