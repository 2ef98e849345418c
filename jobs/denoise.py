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

from aiorch.settings import get_settings
from jobs.contract import JobFailure, OperationOutput, Progress
from jobs.devices import describe_device, pick_device
from jobs.options import float_option
from jobs.weights.loaders import load_model

OPTIONS = frozenset({"method", "sigma", "weights", "device"})
CLASSICAL_METHODS = ("bm3d", "tv", "wavelet")
METHODS = ("auto", "drunet", *CLASSICAL_METHODS)

# Thresholds as multiples of sigma, tuned on scikit-image's astronaut (256x256) at sigma 10, 25 and 50.
TV_THRESHOLD_PER_SIGMA = 0.75
WAVELET_THRESHOLD_PER_SIGMA = 1.0


def run(image: np.ndarray, options: dict[str, Any], progress: Progress) -> OperationOutput:
    method = str(options.get("method", "auto")).lower()
    if method not in METHODS:
        raise JobFailure(f"Unknown denoise method {method!r}: use one of {', '.join(METHODS)}.", "BadRequest")
    weights = options.get("weights") or get_settings().drunet_weights
    if method == "auto":
        method = "drunet" if weights else "bm3d"
    if method == "drunet" and not weights:
        raise JobFailure(
            "DRUNet needs weights: set the 'weights' option or AIORCH_DRUNET_WEIGHTS to a .pth or "
            ".safetensors file. Without them, use method bm3d, tv or wavelet.",
            "BadRequest",
        )

    sigma_estimated = options.get("sigma") is None
    sigma = estimate_sigma(image) if sigma_estimated else float_option(options, "sigma", None, 0.0, 255.0)

    import torch

    device = pick_device(options.get("device"))
    noisy = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(device)
    metadata: dict[str, Any] = {
        "sigma": round(sigma, 3),
        "sigma_estimated": sigma_estimated,
        "device": describe_device(device),
        "precision": "fp32",
    }
    progress("denoising", 0, 1)
    started = time.perf_counter()
    with torch.inference_mode():
        if method == "drunet":
            denoised, weights_info = _drunet(noisy, sigma / 255.0, str(weights), device)
            metadata.update(model="DRUNet", fallback=False, **weights_info)
        else:
            denoised = classical_denoise(noisy, sigma / 255.0, method, device)
            metadata.update(model=method, weights=f"fallback: {method}", weights_sha256=None, fallback=True)
    result = denoised[0].clamp(0, 1).permute(1, 2, 0).float().cpu().numpy()
    metadata["timings_s"] = {"denoise": time.perf_counter() - started}
    progress("denoising", 1, 1)
    return OperationOutput(image=np.ascontiguousarray(result, dtype=np.float32), metadata=metadata)


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


def classical_denoise(noisy: Any, sigma: float, method: str, device: Any) -> Any:
    """deepinv's classical denoisers; ``noisy`` is a (1, 3, H, W) tensor, sigma in [0, 1] units."""
    from deepinv.models import BM3D, TVDenoiser, WaveletDenoiser

    if sigma <= 0:
        return noisy
    if method == "bm3d":
        return BM3D()(noisy.cpu(), sigma).to(device)  # the bm3d package runs on the CPU
    if method == "tv":
        return TVDenoiser(n_it_max=200)(noisy, ths=TV_THRESHOLD_PER_SIGMA * sigma)
    if method == "wavelet":
        return WaveletDenoiser(level=3, wv="db8", device=device)(noisy, ths=WAVELET_THRESHOLD_PER_SIGMA * sigma)
    raise JobFailure(f"Unknown classical denoise method {method!r}.", "BadRequest")


def _drunet(noisy: Any, sigma: float, weights: str, device: Any) -> tuple[Any, dict[str, Any]]:
    """DRUNet takes the image plus a constant noise-level map; sizes padded to a multiple of 8."""
    import torch
    import torch.nn.functional as F

    loaded = load_model(weights=weights)
    if loaded.architecture != "DRUNet":
        raise JobFailure(f"The weights {weights!r} hold a {loaded.architecture} model, not DRUNet.", "BadWeights")
    model = loaded.module.to(device)
    _, _, height, width = noisy.shape
    pad_h, pad_w = (-height) % 8, (-width) % 8
    padded = F.pad(noisy, (0, pad_w, 0, pad_h), mode="replicate")
    noise_map = torch.full_like(padded[:, :1], sigma)
    denoised = model(torch.cat([padded, noise_map], dim=1))
    return denoised[:, :, :height, :width], {"weights": loaded.weights, "weights_sha256": loaded.sha256}
