"""Denoise: the offline default (BM3D) gains at least 6 dB on a real photo at sigma 25/255; the
noise level is estimated when not given; DRUNet runs when weights are given and is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jobs import denoise
from jobs.contract import JobFailure, no_progress
from tests.unit.jobs.job_images import astronaut_crop


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def noisy(clean: np.ndarray, sigma_255: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma_255 / 255, clean.shape)
    return np.clip(clean + noise, 0, 1).astype(np.float32)


@pytest.mark.parametrize("sigma", [5.0, 15.0, 30.0])
def test_sigma_estimate_is_close_on_a_flat_image(sigma: float) -> None:
    flat = np.full((128, 128, 3), 0.5, np.float32)
    estimate = denoise.estimate_sigma(noisy(flat, sigma))
    assert abs(estimate - sigma) < 0.1 * sigma


def test_sigma_estimate_is_near_zero_on_a_clean_photo() -> None:
    assert denoise.estimate_sigma(astronaut_crop(128)) < 3.0


@pytest.mark.slow
def test_default_gains_at_least_6_db_on_a_real_photo_at_sigma_25() -> None:
    clean = astronaut_crop(256)
    degraded = noisy(clean, 25.0)
    output = denoise.run(degraded, {}, no_progress)  # default: colour BM3D (bm3d-fast), sigma estimated
    gain = psnr(output.image, clean) - psnr(degraded, clean)
    assert gain >= 6.0, f"BM3D gained only {gain:.2f} dB"
    assert output.metadata["weights"] == "fallback: bm3d-fast" and output.metadata["fallback"] is True
    assert output.metadata["sigma_estimated"] is True and 18 < output.metadata["sigma"] < 30
    assert output.image.shape == clean.shape and output.image.dtype == np.float32


@pytest.mark.parametrize(("method", "min_gain"), [("tv", 4.0), ("wavelet", 3.0)])
def test_classical_methods_improve_a_noisy_photo(method: str, min_gain: float) -> None:
    clean = astronaut_crop(128)
    degraded = noisy(clean, 25.0, seed=1)
    output = denoise.run(degraded, {"method": method, "sigma": 25}, no_progress)
    assert psnr(output.image, clean) - psnr(degraded, clean) >= min_gain
    assert output.metadata["weights"] == f"fallback: {method}"
    assert output.metadata["sigma"] == 25 and output.metadata["sigma_estimated"] is False


def test_sigma_zero_leaves_the_image_alone() -> None:
    image = astronaut_crop(32)
    output = denoise.run(image, {"method": "wavelet", "sigma": 0}, no_progress)
    np.testing.assert_array_equal(output.image, image)


def test_drunet_without_weights_is_a_clear_error() -> None:
    with pytest.raises(JobFailure, match="DRUNet needs weights"):
        denoise.run(astronaut_crop(16), {"method": "drunet"}, no_progress)


def test_sigma_out_of_range_is_refused() -> None:
    with pytest.raises(JobFailure, match=r"option 'sigma' must be a number from 0 to 255 0-255 levels, not 300"):
        denoise.run(astronaut_crop(16), {"sigma": 300}, no_progress)


@pytest.fixture
def small_drunet_weights(tmp_path: Path) -> Path:
    """A randomly initialised, narrow DRUNet saved as a state dict: tests the code path, not quality."""
    import torch
    from spandrel.architectures.DRUNet import DRUNet

    torch.manual_seed(0)
    model = DRUNet(in_nc=4, out_nc=3, nc=[8, 16, 32, 64], nb=2)
    path = tmp_path / "drunet-random.pth"
    torch.save(model.state_dict(), path)
    return path


def test_drunet_runs_when_weights_are_given_and_names_them(small_drunet_weights: Path) -> None:
    image = noisy(astronaut_crop(64)[:37, :45], 15.0)  # odd sizes: padded to a multiple of 8 inside
    output = denoise.run(image, {"weights": str(small_drunet_weights), "sigma": 15}, no_progress)
    assert output.image.shape == image.shape
    assert np.isfinite(output.image).all() and output.image.min() >= 0 and output.image.max() <= 1
    assert output.metadata["model"] == "DRUNet" and output.metadata["fallback"] is False
    assert output.metadata["weights"] == str(small_drunet_weights)
    assert len(output.metadata["weights_sha256"]) == 64


def test_drunet_setting_makes_drunet_the_default(small_drunet_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiorch.settings import get_settings

    monkeypatch.setenv("AIORCH_DRUNET_WEIGHTS", str(small_drunet_weights))
    get_settings.cache_clear()
    output = denoise.run(astronaut_crop(16), {"sigma": 10}, no_progress)
    assert output.metadata["model"] == "DRUNet"


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    import torch
    from spandrel.architectures.DnCNN import DnCNN

    path = tmp_path / "dncnn.pth"
    torch.save(DnCNN().state_dict(), path)
    with pytest.raises(JobFailure, match="not DRUNet"):
        denoise.run(astronaut_crop(16), {"method": "drunet", "weights": str(path)}, no_progress)


def test_tiled_denoising_matches_the_whole_image_and_reports_each_tile() -> None:
    clean = astronaut_crop(160)
    degraded = noisy(clean, 25.0, seed=2)
    updates: list[tuple[str, int, int]] = []
    whole = denoise.run(degraded, {"method": "wavelet", "sigma": 25}, no_progress)
    tiled = denoise.run(degraded, {"method": "wavelet", "sigma": 25, "tile": 64}, lambda *u: updates.append(u))
    assert whole.metadata["tiles"] == 1 and tiled.metadata["tiles"] == 9 and tiled.metadata["tile"] == 64
    assert abs(psnr(tiled.image, clean) - psnr(whole.image, clean)) < 0.3
    assert ("denoising (estimated within tiles)", 900, 900) in updates  # 9 tiles, in hundredths


def test_half_precision_is_refused_for_a_method_that_has_none_in_the_schema_s_words() -> None:
    with pytest.raises(JobFailure) as refused:
        denoise.run(astronaut_crop(16), {"method": "tv", "precision": "fp16"}, no_progress)
    assert refused.value.message == (
        "Bad options for the denoise job: option 'precision' must be auto or fp32 for tv (a classical method) "
        "(no half precision), not 'fp16'."
    )
