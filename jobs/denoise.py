"""Denoise with DeepInverse: DRUNet when its weights are configured, else a classical denoiser.

Methods (option ``method``):
- ``drunet``: the learned DRUNet; needs weights (option ``weights`` or Settings ``drunet_weights``);
- ``bm3d`` (the offline default), ``tv`` (total variation), ``wavelet`` (soft thresholding, db8):
  classical, no weights, named in metadata as "fallback: <method>".
``auto`` (the default) picks DRUNet when weights are configured, else BM3D.

Option ``sigma`` is the noise level in 0-255 units; when absent it is
estimated from the image (see ``estimate_sigma``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from aiorch.contracts import JobStage, Operation
from aiorch.settings import get_settings
from jobs.contract import JobFailure, OperationOutput, Progress
from jobs.devices import describe_device, pick_device
from jobs.options import choose_precision, option_names, read_options
from jobs.tiler import Tiler, TilerOptions
from jobs.weights.loaders import load_model

JOB = "denoise"
OPTIONS = option_names(Operation.denoise)

# Thresholds as multiples of sigma, tuned on scikit-image's astronaut (256x256) at sigma 10, 25 and 50.
TV_THRESHOLD_PER_SIGMA = 0.75
WAVELET_THRESHOLD_PER_SIGMA = 1.0

# Every method runs through the shared tiler (jobs.tiler): memory stays bounded on any image,
# progress is reported per tile, and feathered overlaps leave no seams. Tile sides by method:
# BM3D is slow (progress every few seconds on a CPU); DRUNet's memory grows with the tile.
AUTO_TILE = {"bm3d": 256, "tv": 1024, "wavelet": 1024, "drunet-cuda": 1024, "drunet-cpu": 256}
TILE_OVERLAP = 32
DRUNET_SIZE_MULTIPLE = 8


def resolve_method(options: dict[str, Any]) -> tuple[str, Any]:
    """(method, DRUNet weights): "auto" is DRUNet when weights are configured, else BM3D."""
    method = options.get("method") or "auto"  # checked by the schema (jobs.options.read_options)
    weights = options.get("weights") or get_settings().drunet_weights
    if method == "auto":
        method = "drunet" if weights else "bm3d"
    return method, weights


def libraries(options: dict[str, Any]) -> tuple[str, ...]:
    """What the job imports before its first pixel (the job CLI times it as timings_s.imports)."""
    method, _ = resolve_method(options)
    if method == "drunet":
        return ("torch", "spandrel")
    return ("torch", "deepinv.models", *(("bm3d",) if method == "bm3d" else ()))


def run(image: np.ndarray, options: dict[str, Any], progress: Progress) -> OperationOutput:
    options = read_options(Operation.denoise, JOB, options)
    method, weights = resolve_method(options)
    if method == "drunet" and not weights:
        raise JobFailure(
            "DRUNet needs weights: set the 'weights' option or AIORCH_DRUNET_WEIGHTS to a .pth or "
            ".safetensors file. Without them, use method bm3d, tv or wavelet.",
            "BadRequest",
        )
    sigma_estimated = options["sigma"] is None
    sigma = estimate_sigma(image) if sigma_estimated else float(options["sigma"])
    device = pick_device(options["device"])
    auto_tile = AUTO_TILE[f"drunet-{device.type}" if method == "drunet" else method]
    tile = options["tile"] or auto_tile

    metadata: dict[str, Any] = {
        "sigma": round(sigma, 3),
        "sigma_estimated": sigma_estimated,
        "device": describe_device(device),
    }
    started = time.perf_counter()
    if method == "drunet":
        denoiser, size_multiple, weights_info, supports_half = _drunet(str(weights), sigma / 255.0, device)
        metadata.update(model="DRUNet", fallback=False, **weights_info)
    else:  # deepinv's classical denoisers are no spandrel models: fp32 only
        denoiser, size_multiple, supports_half = _classical(method, sigma / 255.0, device), 1, False
        metadata.update(model=method, weights=f"fallback: {method}", weights_sha256=None, fallback=True)
    loaded_at = time.perf_counter()
    precision = choose_precision(
        Operation.denoise,
        JOB,
        options["precision"],
        device_type=device.type,
        supports_half=supports_half,
        model=metadata["model"] if method == "drunet" else f"{method} (a classical method)",
    )
    metadata["precision"] = precision

    progress(JobStage.denoising, 0, 1)
    if sigma <= 0:
        result, report = image, None
    else:
        tiler_options = TilerOptions(
            tile=tile,
            overlap=TILE_OVERLAP,
            precision=precision,
            channels_last=False,
            clamp=True,
            estimate_progress_s=1.0,  # BM3D's tiles take seconds each on a CPU
        )
        tiler = Tiler(denoiser, scale=1, device=device, options=tiler_options, size_multiple=size_multiple)
        result, report = tiler.run(np.ascontiguousarray(image, dtype=np.float32), progress, stage=JobStage.denoising)
    metadata["timings_s"] = {"load_model": loaded_at - started, "model": time.perf_counter() - loaded_at}
    metadata["tile"] = report.tile if report else None
    metadata["tiles"] = report.tiles if report else 0
    progress(JobStage.denoising, 1, 1)
    return OperationOutput(image=np.ascontiguousarray(np.clip(result, 0, 1), dtype=np.float32), metadata=metadata)


def estimate_sigma(image: np.ndarray) -> float:
    """Noise level (0-255 units) from the finest Haar diagonal detail, by median absolute deviation.

    Donoho's robust estimator: image content barely reaches the finest
    diagonal band, noise fills it evenly, so median(|HH|) / 0.6745 is sigma.
    Averaged over the colour channels.
    """
    height, width = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    if height < 2 or width < 2:
        return 0.0
    x = image[:height, :width].astype(np.float32)
    if x.ndim == 2:
        x = x[..., None]
    diagonal = (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) / 2.0
    sigma_per_channel = np.median(np.abs(diagonal).reshape(-1, x.shape[2]), axis=0)
    return float(np.mean(sigma_per_channel) / 0.6745 * 255.0)


def _classical(method: str, sigma: float, device: Any) -> Any:
    """deepinv's classical denoiser as a module mapping a (B, 3, h, w) tile batch to its denoised batch."""
    import torch
    from deepinv.models import BM3D, TVDenoiser, WaveletDenoiser

    class Classical(torch.nn.Module):
        def forward(self, noisy: torch.Tensor) -> torch.Tensor:
            if method == "bm3d":  # the bm3d package runs on the CPU
                return BM3D()(noisy.float().cpu(), sigma).to(noisy)
            if method == "tv":
                return TVDenoiser(n_it_max=200)(noisy, ths=TV_THRESHOLD_PER_SIGMA * sigma)
            wavelet = WaveletDenoiser(level=3, wv="db8", device=noisy.device)
            return wavelet(noisy, ths=WAVELET_THRESHOLD_PER_SIGMA * sigma)

    return Classical()


def _drunet(weights: str, sigma: float, device: Any) -> tuple[Any, int, dict[str, Any], bool]:
    """DRUNet as a module that adds the constant noise-level map it takes as a fourth input channel."""
    import torch

    loaded = load_model(weights=weights)
    if loaded.architecture != "DRUNet":
        raise JobFailure(f"The weights {weights!r} hold a {loaded.architecture} model, not DRUNet.", "BadWeights")

    class WithNoiseLevel(torch.nn.Module):
        def __init__(self, drunet: torch.nn.Module) -> None:
            super().__init__()
            self.drunet = drunet

        def forward(self, noisy: torch.Tensor) -> torch.Tensor:
            noise_map = torch.full_like(noisy[:, :1], sigma)
            return self.drunet(torch.cat([noisy, noise_map], dim=1))

    size_multiple = max(DRUNET_SIZE_MULTIPLE, loaded.size_multiple)
    weights_info = {"weights": loaded.weights, "weights_sha256": loaded.sha256}
    return WithNoiseLevel(loaded.module), size_multiple, weights_info, loaded.supports_half
