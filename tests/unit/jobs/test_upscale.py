"""The upscale operation: options, metadata, and real Real-ESRGAN output on a real photo."""

from __future__ import annotations

import numpy as np
import pytest

from aiorch.settings import get_settings
from jobs import upscale
from jobs.contract import JobFailure
from jobs.weights import REGISTRY


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


@pytest.fixture
def small_image() -> np.ndarray:
    return np.random.default_rng(1).random((12, 16, 3), dtype=np.float32)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # The schema's words (aiorch.operations), as the API and ValidateInput give them.
        ({"modle": "x"}, "unknown option 'modle' for upscale"),
        ({"model": "no-such-model"}, "option 'model' must be one of realesr-animevideov3"),
        ({"model": "big-lama"}, "option 'model' must be one of"),  # an inpainting model is not an upscaler
        ({"precision": "int8"}, "option 'precision' must be one of auto, fp16, fp32, not 'int8'"),
        ({"tile": -5}, "option 'tile' must be a whole number from 0 to 8192 px, not -5"),
        ({"tile": 1.5}, "whole number"),
        ({"batch": "many"}, "whole number"),
        ({"outscale": 0}, "option 'outscale' must be a number greater than 0"),
        ({"outscale": 100}, "option 'outscale'"),
        ({"compile": "yes"}, "option 'compile' must be true or false"),
        ({"device": "tpu"}, "option 'device' must be text matching"),
        # Known only in the job, said in the same words:
        ({"device": "cpu", "precision": "fp16"}, r"option 'precision' must be auto or fp32 on the CPU \(fp16 needs"),
    ],
)
def test_bad_options_fail_with_a_clear_message(options: dict, message: str, small_image: np.ndarray) -> None:
    with pytest.raises(JobFailure, match=message) as refused:
        upscale.run(small_image, options)
    assert refused.value.message.startswith("Bad options for the upscale job: ")
    assert refused.value.type == "BadRequest"


def test_bad_input_arrays_are_refused() -> None:
    with pytest.raises(JobFailure, match="RGB"):
        upscale.run(np.zeros((8, 8), np.float32), {})
    with pytest.raises(JobFailure, match="RGB"):
        upscale.run(np.zeros((8, 8, 3), np.uint8), {})


def test_user_weights_that_do_not_upscale_are_refused(tmp_path, small_image: np.ndarray) -> None:
    from safetensors.torch import save_file
    from spandrel.architectures.Compact import Compact

    path = tmp_path / "same-size.safetensors"
    save_file(Compact(num_feat=8, num_conv=2, upscale=1).state_dict(), str(path))
    with pytest.raises(JobFailure, match="not an upscaler"):
        upscale.run(small_image, {"weights": str(path), "device": "cpu"})


def test_metadata_names_the_real_weights_and_how_they_ran() -> None:
    image = np.random.default_rng(2).random((24, 32, 3), dtype=np.float32)
    progress: list[tuple[str, int, int]] = []
    result = upscale.run(
        image,
        {"model": "realesr-animevideov3", "device": "cpu", "tile": 16, "tile_overlap": 4},
        lambda stage, done, total: progress.append((stage, done, total)),
    )
    meta = result.metadata
    assert result.image.shape == (96, 128, 3) and result.image.dtype == np.float32
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0
    assert meta["operation"] == "upscale" and meta["model"] == "realesr-animevideov3"
    assert meta["weights_sha256"] == REGISTRY["realesr-animevideov3"].sha256
    assert "REALESRGAN_ANIMAVIDEOV3_UP4X.bin" in meta["weights"]
    assert meta["fallback"] is False
    assert (meta["device"], meta["precision"], meta["tile"], meta["tiles"]) == ("cpu", "fp32", 16, 4)
    assert (meta["scale"], meta["outscale"]) == (4.0, 4.0)
    # The model load and the model's work apart (the job CLI adds start-up, imports, decode, encode, total).
    assert set(meta["timings_s"]) == {"load_model", "model", "resize"}
    assert progress[-1] == ("upscale (estimated within tiles)", 400, 400)  # 4 tiles, in hundredths


def test_outscale_resamples_the_model_output(small_image: np.ndarray) -> None:
    result = upscale.run(small_image, {"model": "realesr-animevideov3", "device": "cpu", "outscale": 2.5})
    assert result.image.shape == (30, 40, 3)
    assert result.metadata["outscale"] == 2.5 and result.metadata["scale"] == 4.0


def test_packaged_x2_model_keeps_its_own_final_resize(small_image: np.ndarray) -> None:
    result = upscale.run(small_image, {"model": "realesr-animevideov3-x2", "device": "cpu"})
    assert result.image.shape == (24, 32, 3)
    assert result.metadata["scale"] == 2.0


@pytest.mark.slow
def test_x4plus_restores_a_real_photo_downscaled_four_times() -> None:
    """Acceptance: real weights, not bicubic in disguise (random weights score about 8 dB)."""
    import cv2
    from skimage import data

    original = data.coffee()[100:292, 200:392].astype(np.float32) / 255  # 192 x 192
    low = cv2.resize(original, (48, 48), interpolation=cv2.INTER_AREA)
    bicubic = np.clip(cv2.resize(low, (192, 192), interpolation=cv2.INTER_CUBIC), 0, 1)
    result = upscale.run(low, {"device": "cpu", "tile": 32, "tile_overlap": 16})
    ours = result.image
    assert psnr(ours, original) >= psnr(bicubic, original) - 2.0  # measured: 25.4 vs 26.4 dB
    assert psnr(ours, bicubic) < 35.0  # measured: about 25 dB
    assert result.metadata["tiles"] == 4  # the acceptance run goes through the tiler's blending
    assert result.metadata["weights_sha256"] == REGISTRY["realesrgan-x4plus"].sha256


def test_a_tile_too_large_for_the_free_memory_is_refused_in_the_option_s_words(monkeypatch) -> None:
    image = np.random.default_rng(2).random((120, 120, 3), dtype=np.float32)
    monkeypatch.setattr(upscale, "available_memory", lambda device: 256 * 1024**2)  # 256 MiB free, 2 slots
    monkeypatch.setenv("AIORCH_JOB_SLOTS", "2")
    get_settings.cache_clear()
    try:
        with pytest.raises(JobFailure) as refused:
            upscale.run(image, {"model": "realesr-animevideov3", "tile": 100, "device": "cpu"})
        # 128 MiB per job at 12 KiB per pixel: 104 px a side, less the 32 px overlap.
        assert refused.value.message == (
            "Bad options for the upscale job: option 'tile' must be 0 (automatic) or at most 72 px on this "
            "device for this image (a larger tile needs more than the 128 MiB of memory free for this job), "
            "not 100."
        )
        assert refused.value.type == "BadRequest"
        fits = upscale.run(image, {"model": "realesr-animevideov3", "tile": 72, "device": "cpu"})
        assert fits.image.shape == (480, 480, 3) and fits.metadata["tile"] == 72
    finally:
        get_settings.cache_clear()
