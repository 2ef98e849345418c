"""Deblur: each classical prior measurably sharpens a real photo blurred by a known kernel (blurred here
by scipy, not by the job's own FFT operator, with the photo's real edges, as a camera would); the result
names the method and a fallback as a fallback; DRUNet runs when weights are given and is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from jobs import deblur
from jobs.contract import JobFailure, no_progress
from tests.unit.jobs.job_images import astronaut_crop


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def blurred(clean: np.ndarray, blur: str, blur_px: float, angle: float = 0.0, noise_255: float = 1.0) -> np.ndarray:
    """``clean`` blurred channel by channel with scipy (edges mirrored, as the world goes on past the frame),
    plus slight Gaussian noise, clipped to [0, 1] as an 8-bit photo would be."""
    kernel = None if blur == "gaussian" else deblur.blur_kernel(blur, blur_px, angle)[0, 0].numpy()
    channels = [
        ndimage.gaussian_filter(clean[..., c], blur_px, mode="reflect")
        if kernel is None
        else ndimage.convolve(clean[..., c], kernel, mode="reflect")
        for c in range(clean.shape[2])
    ]
    noise = np.random.default_rng(0).normal(0, noise_255 / 255, clean.shape)
    return np.clip(np.stack(channels, axis=-1) + noise, 0, 1).astype(np.float32)


# Gains measured on this 128 px crop with noise 1/255 (2026-12-07): gaussian 2 px: TV +4.5 dB, wavelet +3.0;
# disk 3 px: TV +5.1; streak 9 px at 30 degrees: TV +5.0. The thresholds sit about 1 dB below: a change
# that costs a real decibel fails, while library updates' rounding cannot (the solver is deterministic).
@pytest.mark.parametrize(
    ("blur", "blur_px", "angle", "method", "min_gain_db"),
    [
        ("gaussian", 2.0, 0.0, "tv", 3.5),
        ("gaussian", 2.0, 0.0, "wavelet", 2.0),
        ("disk", 3.0, 0.0, "tv", 4.0),
        ("motion", 9.0, 30.0, "tv", 4.0),  # a slanted streak: the padding is re-estimated, not mirrored
    ],
)
def test_classical_deblurring_sharpens_a_blurred_photo(
    blur: str, blur_px: float, angle: float, method: str, min_gain_db: float
) -> None:
    clean = astronaut_crop(128)
    degraded = blurred(clean, blur, blur_px, angle)
    options = {"blur": blur, "blur_px": blur_px, "motion_angle": angle, "method": method}
    output = deblur.run(degraded, options, no_progress)
    gain = psnr(output.image, clean) - psnr(degraded, clean)
    assert gain >= min_gain_db, f"{method} on {blur} {blur_px} px gained only {gain:.2f} dB"
    assert output.image.shape == clean.shape and output.image.dtype == np.float32
    assert output.image.min() >= 0 and output.image.max() <= 1
    # A streak at 30 degrees is no mirror image of itself: its padding is estimated, not reflected.
    assert output.metadata["edges"] == ("estimated" if blur == "motion" else "reflected")


def test_auto_without_drunet_names_tv_deconvolution_as_a_fallback() -> None:
    degraded = blurred(astronaut_crop(64), "gaussian", 2.0)
    output = deblur.run(degraded, {}, no_progress)  # defaults: gaussian, 2 px, auto, noise estimated
    metadata = output.metadata
    assert metadata["weights"] == "fallback: TV deconvolution" and metadata["fallback"] is True
    assert metadata["model"] == "TV deconvolution" and metadata["method"] == "tv"
    assert metadata["weights_sha256"] is None and metadata["precision"] == "fp32"
    assert metadata["device"] and metadata["blur"] == "gaussian" and metadata["blur_px"] == 2.0
    assert any("DRUNet's weights are not installed" in note for note in metadata["notes"])
    # Noise 1/255 was added: the estimate finds about that much, and the regularisation is at least 1.
    assert metadata["noise_estimated"] is True and 0.5 < metadata["noise"] < 2.0
    assert metadata["regularisation_noise"] >= deblur.MIN_NOISE
    assert set(metadata["timings_s"]) == {"load_model", "model"}


def test_auto_picks_wavelet_where_tv_would_take_too_long_on_a_cpu() -> None:
    small, huge = 1_000_000, 40_000_000
    assert deblur.classical_for(small) == "tv"
    assert deblur.classical_for(huge) == "wavelet"
    assert deblur.classical_for(huge, device_type="cuda") == "tv"
    # A slanted streak's edges are re-estimated at every step, which makes TV slower: wavelet sooner.
    assert deblur.classical_for(2_000_000, edges="reflected") == "tv"
    assert deblur.classical_for(2_000_000, edges="estimated") == "wavelet"


@pytest.mark.parametrize("method", ["wavelet", "tv"])  # TV also warm-starts from its last call: never across tiles
def test_tiled_deblurring_matches_the_whole_image_and_reports_each_tile(method: str) -> None:
    clean = astronaut_crop(160)
    degraded = blurred(clean, "gaussian", 1.5)
    updates: list[tuple[str, int, int]] = []
    options = {"blur_px": 1.5, "method": method}
    whole = deblur.run(degraded, options, no_progress)
    tiled = deblur.run(degraded, {**options, "tile": 64}, lambda *update: updates.append(update))
    assert whole.metadata["tiles"] == 1 and tiled.metadata["tiles"] == 9 and tiled.metadata["tile"] == 64
    assert abs(psnr(tiled.image, clean) - psnr(whole.image, clean)) < 0.3
    assert updates[0] == (deblur.STAGE, 0, 1) and updates[-1] == (deblur.STAGE, 1, 1)


@pytest.mark.parametrize(("blur", "blur_px", "angle"), [("gaussian", 2.0, 0), ("disk", 2.5, 0), ("motion", 7.0, 45)])
def test_kernels_are_normalised_odd_squares(blur: str, blur_px: float, angle: float) -> None:
    kernel = deblur.blur_kernel(blur, blur_px, angle)
    assert kernel.shape[:2] == (1, 1) and kernel.shape[-1] == kernel.shape[-2] and kernel.shape[-1] % 2 == 1
    assert abs(float(kernel.sum()) - 1) < 1e-5 and float(kernel.min()) >= 0


def test_a_horizontal_streak_lies_on_the_centre_row() -> None:
    kernel = deblur.blur_kernel("motion", 9.0, 0.0)[0, 0]
    centre = kernel.shape[0] // 2
    assert float(kernel[centre].sum()) > 0.99
    assert int((kernel[centre] > 0).sum()) >= 9


def test_drunet_without_weights_is_a_clear_error() -> None:
    with pytest.raises(JobFailure, match="DRUNet needs weights"):
        deblur.run(astronaut_crop(16), {"method": "drunet"}, no_progress)


def test_a_blur_size_out_of_range_is_refused_in_the_schema_s_words() -> None:
    with pytest.raises(JobFailure) as refused:
        deblur.run(astronaut_crop(16), {"blur_px": 100}, no_progress)
    assert (
        refused.value.message
        == "Bad options for the deblur job: option 'blur_px' must be a number from 0.3 to 25 px, not 100."
    )
    assert refused.value.type == "BadRequest"


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


def test_drunet_runs_as_dpir_s_prior_when_weights_are_given_and_is_named(small_drunet_weights: Path) -> None:
    image = blurred(astronaut_crop(64), "gaussian", 1.0)[:37, :45]  # odd sizes: padded to a multiple of 8 inside
    output = deblur.run(image, {"weights": str(small_drunet_weights), "blur_px": 1.0, "iterations": 2}, no_progress)
    assert output.image.shape == image.shape
    assert np.isfinite(output.image).all() and output.image.min() >= 0 and output.image.max() <= 1
    metadata = output.metadata
    assert metadata["model"] == "DRUNet (DPIR)" and metadata["fallback"] is False and metadata["method"] == "drunet"
    assert metadata["weights"] == str(small_drunet_weights) and len(metadata["weights_sha256"]) == 64
    assert "notes" not in metadata
