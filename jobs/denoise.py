"""Denoise with DeepInverse: DRUNet when its weights are configured, else a classical denoiser.

Methods (option ``method``):
- ``drunet``: the learned DRUNet; needs weights, found by the one rule (``aiorch.weights.find_weights``):
  the ``weights`` option, else Settings ``drunet_weights``, else ``drunet_color.pth`` in the weights folder
  (``aiorch weights pull drunet --sha256 HEX``);
- ``bm3d``, ``bm3d-fast`` (colour BM3D with a sparser search), ``tv`` (total variation), ``wavelet`` (soft
  thresholding, db8): classical, no weights, named in metadata as "fallback: <method>".
``auto`` (the default) picks DRUNet when its weights are found, else the best classical method expected to
finish within AUTO_BUDGET_S on this image (CPU seconds per megapixel measured by ``python -m bench denoise``,
docs/benchmarks.md): bm3d-fast up to about 1.3 megapixels on a CPU, then wavelet (on a GPU, TV).

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
AUTO_TILE = {"bm3d": 256, "bm3d-fast": 1024, "tv": 1024, "wavelet": 1024, "drunet-cuda": 1024, "drunet-cpu": 256}
TILE_OVERLAP = 32
# auto without DRUNet: the best of AUTO_ORDER expected to finish within AUTO_BUDGET_S, from the CPU seconds per
# megapixel python -m bench denoise measured (1024x1024 astronaut, sigma 25, 2 cores, 2026-12-07; rounded up:
# bm3d-fast 41, TV 53, wavelet 1.1; BM3D about 170, from its wall time under the same load). PSNR there:
# bm3d-fast 32.4 dB, BM3D 32.3, TV 30.1, wavelet 27.4 (noisy: 20.9).
AUTO_BUDGET_S = 60.0
# BM3D's full search is left out: slower than bm3d-fast at every size and no better on colour photos (at
# 256 px, 28.3 dB against 29.5); method bm3d still runs it.
AUTO_ORDER = ("bm3d-fast", "tv", "wavelet")
CPU_S_PER_MP = {"bm3d": 200.0, "bm3d-fast": 45.0, "tv": 55.0, "wavelet": 3.0}
# bm3d-fast's search: reference blocks every 8 px (BM3D's own: 3), matched within 11 px (its own: 39).
BM3D_FAST_STEP = 8
BM3D_FAST_WINDOW = 11
DRUNET_SIZE_MULTIPLE = 8


def resolve_method(options: dict[str, Any], pixels: int | None = None, device_type: str = "cpu") -> tuple[str, Any]:
    """(method, DRUNet weights): "auto" is DRUNet when its weights are found, else ``classical_for(pixels)``."""
    from aiorch.weights import find_weights

    method = options.get("method") or "auto"  # checked by the schema (jobs.options.read_options)
    weights = find_weights("drunet", options.get("weights"), get_settings())
    if method == "auto":
        method = "drunet" if weights else classical_for(pixels, device_type)
    return method, weights


def classical_for(pixels: int | None, device_type: str = "cpu") -> str:
    """The best classical method (AUTO_ORDER) expected to finish within AUTO_BUDGET_S on ``pixels``; the
    fastest when none is. BM3D runs on the CPU on any device; TV and wavelet run on a GPU when there is one,
    which makes them fast there. ``pixels`` None (before the image is read): bm3d-fast, for its imports."""
    if pixels is None:
        return "bm3d-fast"
    for method in AUTO_ORDER:
        on_gpu = device_type != "cpu" and not method.startswith("bm3d")
        if on_gpu or CPU_S_PER_MP[method] * pixels / 1e6 <= AUTO_BUDGET_S:
            return method
    return AUTO_ORDER[-1]


def libraries(options: dict[str, Any]) -> tuple[str, ...]:
    """What the job imports before its first pixel (the job CLI times it as timings_s.imports)."""
    method, _ = resolve_method(options)
    if method == "drunet":
        return ("torch", "spandrel")
    return ("torch", "deepinv.models", *(("bm3d",) if method.startswith("bm3d") else ()))


def run(image: np.ndarray, options: dict[str, Any], progress: Progress) -> OperationOutput:
    options = read_options(Operation.denoise, JOB, options)
    device = pick_device(options["device"])
    pixels = int(image.shape[0]) * int(image.shape[1])
    method, weights = resolve_method(options, pixels, device.type)
    if method == "drunet" and not weights:
        raise JobFailure(
            "DRUNet needs weights: install them with `aiorch weights pull drunet --sha256 HEX` (into "
            "AIORCH_WEIGHTS_DIR), or set the 'weights' option or AIORCH_DRUNET_WEIGHTS to a .pth or .safetensors "
            "file. Without them, use method bm3d, bm3d-fast, tv or wavelet.",
            "BadRequest",
        )
    sigma_estimated = options["sigma"] is None
    sigma = estimate_sigma(image) if sigma_estimated else float(options["sigma"])
    auto_tile = AUTO_TILE[f"drunet-{device.type}" if method == "drunet" else method]
    tile = options["tile"] or auto_tile

    metadata: dict[str, Any] = {
        "sigma": round(sigma, 3),
        "sigma_estimated": sigma_estimated,
        "device": describe_device(device),
    }
    if (options.get("method") or "auto") == "auto" and method != "drunet":
        metadata["notes"] = [
            f"auto chose {method}: DRUNet's weights are not installed, and {method} is the best classical method "
            f"expected to finish within {AUTO_BUDGET_S:.0f} s on {pixels / 1e6:.2f} MP here"
        ]
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
            if method == "bm3d-fast":
                return _bm3d_fast(noisy, sigma)
            if method == "tv":
                return TVDenoiser(n_it_max=200)(noisy, ths=TV_THRESHOLD_PER_SIGMA * sigma)
            wavelet = WaveletDenoiser(level=3, wv="db8", device=noisy.device)
            return wavelet(noisy, ths=WAVELET_THRESHOLD_PER_SIGMA * sigma)

    return Classical()


def _bm3d_fast(noisy: Any, sigma: float) -> Any:
    """Colour BM3D (the bm3d package's bm3d_rgb: block matching on the luminance of an opponent colour
    space, every channel filtered along the same groups) with a sparser search: reference blocks every
    BM3D_FAST_STEP px in a BM3D_FAST_WINDOW px window, 16 blocks a group in both stages. About 5 times
    faster than ``bm3d`` and 1 dB better on colour photos (python -m bench denoise, docs/benchmarks.md)."""
    import bm3d
    import torch

    profile = bm3d.BM3DProfile()
    profile.step_ht = profile.step_wiener = BM3D_FAST_STEP
    profile.search_window_ht = profile.search_window_wiener = BM3D_FAST_WINDOW
    profile.max_3d_size_wiener = 16
    out = torch.empty_like(noisy)
    for index, tile in enumerate(noisy.float().cpu().numpy()):
        channels = tile.transpose(1, 2, 0)
        if channels.shape[2] == 3:
            denoised = bm3d.bm3d_rgb(channels, sigma, profile=profile)
        else:
            denoised = bm3d.bm3d(channels, sigma, profile=profile)
        out[index] = torch.from_numpy(np.ascontiguousarray(np.atleast_3d(denoised).transpose(2, 0, 1))).to(out)
    return out


def load_drunet(weights: str) -> tuple[Any, int, dict[str, Any]]:
    """DRUNet's weights loaded and checked to be DRUNet: (the loaded model, the size its input must be a
    multiple of, the metadata naming the weights). Denoise and deblur both run it."""
    loaded = load_model(weights=weights)
    if loaded.architecture != "DRUNet":
        raise JobFailure(f"The weights {weights!r} hold a {loaded.architecture} model, not DRUNet.", "BadWeights")
    size_multiple = max(DRUNET_SIZE_MULTIPLE, loaded.size_multiple)
    return loaded, size_multiple, {"weights": loaded.weights, "weights_sha256": loaded.sha256}


def with_noise_level(x: Any, sigma: float) -> Any:
    """DRUNet's input: the image with the constant noise-level map it takes as a fourth channel."""
    import torch

    return torch.cat([x, torch.full_like(x[:, :1], float(sigma))], dim=1)


def _drunet(weights: str, sigma: float, device: Any) -> tuple[Any, int, dict[str, Any], bool]:
    """DRUNet as a module that adds the constant noise-level map it takes as a fourth input channel."""
    import torch

    loaded, size_multiple, weights_info = load_drunet(weights)

    class WithNoiseLevel(torch.nn.Module):
        def __init__(self, drunet: torch.nn.Module) -> None:
            super().__init__()
            self.drunet = drunet

        def forward(self, noisy: torch.Tensor) -> torch.Tensor:
            return self.drunet(with_noise_level(noisy, sigma))

    return WithNoiseLevel(loaded.module), size_multiple, weights_info, loaded.supports_half
