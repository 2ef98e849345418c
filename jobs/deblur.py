"""Deblur with DeepInverse: a known blur undone by plug-and-play half-quadratic splitting (DPIR's scheme).

Users rarely know their blur's kernel, so they describe it (option ``blur``, ``blur_px``):
- ``gaussian``: an out-of-focus or soft photo; ``blur_px`` is the Gaussian's standard deviation;
- ``disk``: a defocused lens (a uniform disc, the lens's aperture); ``blur_px`` is the disc's radius;
- ``motion``: a straight camera shake; ``blur_px`` is the streak's length, ``motion_angle`` its direction.

The blur is a ``deepinv.physics.BlurFFT`` operator and the restoration is ``deepinv.optim``'s HQS with an
L2 data term and a plug-and-play prior (``deepinv.optim.PnP``), DPIR's schedule: the prior's strength falls
geometrically from 49/255 to the noise level over ``iterations`` steps, and the data step's weight grows with
it (``deepinv.optim.dpir.get_DPIR_params``, here with a chosen number of steps). The prior (option ``method``):
- ``drunet``: DRUNet, the learned denoiser DPIR was made for; needs weights, found by the one rule
  (``aiorch.weights.find_weights``) as the denoise job finds them (``aiorch weights pull drunet``);
- ``tv`` (total variation) and ``wavelet`` (soft thresholding, db8): classical, no weights, named in metadata
  as "fallback: <method> deconvolution".
``auto`` (the default) is DRUNet when its weights are found, else TV where it is expected to finish within
AUTO_BUDGET_S on this image on a CPU, else wavelet (seconds per megapixel from ``python -m bench.deblur``:
TV up to 4 MP for a symmetric blur, 1.2 MP for a slanted streak, whose edges cost more).

Edges: an FFT blur wraps around the image, so each tile is padded (EDGE_PAD_KERNELS kernel sides) before
the blur is undone, and cropped after. A kernel that is its own mirror image (Gaussian, disk, a level or
upright streak) gets reflected padding faded into its own blur (``_edge_taper``), metadata "edges":
"reflected"; a slanted streak's padding is re-estimated at every step instead (``_observed_inside_l2``),
"edges": "estimated". The tiles overlap by four kernel sides, so the shared tiler (jobs.tiler) keeps memory
bounded on any image without seams. Option ``noise`` is the noise level in 0-255 units (the
regularisation's final strength); when absent it is estimated from the image
(``jobs.denoise.estimate_sigma``), at least MIN_NOISE. The result is clamped to [0, 1].
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from aiorch.contracts import Operation
from aiorch.settings import get_settings
from jobs.contract import JobFailure, OperationOutput, Progress
from jobs.denoise import (
    TV_THRESHOLD_PER_SIGMA,
    WAVELET_THRESHOLD_PER_SIGMA,
    estimate_sigma,
    load_drunet,
    with_noise_level,
)
from jobs.devices import describe_device, pick_device
from jobs.options import read_options
from jobs.tiler import Tiler, TilerOptions

JOB = "deblur"
# The progress stage this job names: a stage of its own, which the progress formula weighs as the model's work.
STAGE = "deblurring"

METHODS = ("auto", "drunet", "tv", "wavelet")
BLURS = ("gaussian", "disk", "motion")
DEFAULT_BLUR_PX = 2.0
DEFAULT_ITERATIONS = 8  # DPIR's own (deepinv.optim.dpir.get_DPIR_params)
# DPIR's schedule: the prior's noise level starts here and falls to the image's noise level.
PRIOR_START_SIGMA = 49.0 / 255.0
DPIR_LAMBDA = 1 / 0.23
# The regularisation's noise level never goes below 1/255: a weaker final prior turns what the blur erased
# into ringing (8-bit rounding alone is 0.3/255). On the astronaut with Gaussian blur 2 px and noise 1/255,
# a floor of 1 beat a floor of 2 by 0.3 to 0.5 dB.
MIN_NOISE = 1.0
# The TV prior's inner iterations per step (its prox has no closed form), by how the edges are handled.
# Reflected edges: 10 is as good as 50 in a quarter of the time (astronaut 256 px: gaussian 2 px 26.5 dB
# against 26.4, disk 3 px 28.7 against 28.1). Re-estimated edges (a slanted streak) need the exacter prox
# (streak 15 px at 100 degrees: 25.8 dB with 10, 26.6 with 50; coffee: 25.6 against 26.7).
TV_INNER_ITERATIONS = {"reflected": 10, "estimated": 50}
# Padding around each tile, in kernel sides: reflected, then faded into its own blur (_edge_taper), so
# the FFT's wrap-around meets smooth content far from the image; the crop drops it.
EDGE_PAD_KERNELS = 2
# Tiles (input px per side) by method: memory stays bounded, progress moves per tile.
AUTO_TILE = {"tv": 1024, "wavelet": 1024, "drunet-cuda": 1024, "drunet-cpu": 384}
MIN_TILE_OVERLAP = 32
# auto without DRUNet: TV when expected within AUTO_BUDGET_S at CPU_S_PER_MP, else wavelet (on a GPU, TV).
# Seconds per megapixel from python -m bench.deblur (three photos 512 px wide, 2 cores, 2026-12-07; rounded
# up): TV 8-14 with reflected edges, 43-49 with estimated ones; wavelet 6-13 either way.
AUTO_BUDGET_S = 60.0
CPU_S_PER_MP = {"tv-reflected": 15.0, "tv-estimated": 50.0, "wavelet": 13.0}
# Motion kernels are drawn with this many sub-pixel samples per pixel of length (smooth, any angle).
MOTION_SAMPLES_PER_PX = 8


def read_deblur_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The options as the operation's registry module declares them (aiorch/registry/deblur.py), checked."""
    return read_options(Operation.deblur, JOB, options)


def resolve_method(
    options: dict[str, Any], pixels: int | None = None, device_type: str = "cpu", edges: str = "reflected"
) -> tuple[str, Any]:
    """(method, DRUNet weights): "auto" is DRUNet when its weights are found, else ``classical_for(...)``."""
    from aiorch.weights import find_weights

    method = options.get("method") or "auto"
    weights = find_weights("drunet", options.get("weights"), get_settings())
    if method == "auto":
        method = "drunet" if weights else classical_for(pixels, device_type, edges)
    return method, weights


def classical_for(pixels: int | None, device_type: str = "cpu", edges: str = "reflected") -> str:
    """TV when it is expected within AUTO_BUDGET_S on ``pixels`` on a CPU with these ``edges`` (always on a
    GPU), else wavelet. ``pixels`` None (before the image is read): TV."""
    if pixels is None or device_type != "cpu" or CPU_S_PER_MP[f"tv-{edges}"] * pixels / 1e6 <= AUTO_BUDGET_S:
        return "tv"
    return "wavelet"


def libraries(options: dict[str, Any]) -> tuple[str, ...]:
    """What the job imports before its first pixel (the job CLI times it as timings_s.imports)."""
    method, _ = resolve_method(options)
    return ("torch", "deepinv.physics", "deepinv.optim", *(("spandrel",) if method == "drunet" else ()))


def run(image: np.ndarray, options: dict[str, Any], progress: Progress) -> OperationOutput:
    options = read_deblur_options(options)
    device = pick_device(options["device"])
    pixels = int(image.shape[0]) * int(image.shape[1])
    kernel = blur_kernel(options["blur"], float(options["blur_px"]), float(options["motion_angle"] or 0))
    edges = "reflected" if mirror_symmetric(kernel) else "estimated"
    method, weights = resolve_method(options, pixels, device.type, edges)
    if method == "drunet" and not weights:
        raise JobFailure(
            "DRUNet needs weights: install them with `aiorch weights pull drunet --sha256 HEX` (into "
            "AIORCH_WEIGHTS_DIR), or set the 'weights' option or AIORCH_DRUNET_WEIGHTS to a .pth or .safetensors "
            "file. Without them, use method tv or wavelet.",
            "BadRequest",
        )
    noise_estimated = options["noise"] is None
    noise = estimate_sigma(image) if noise_estimated else float(options["noise"])
    regularisation = max(noise, MIN_NOISE)
    kernel_side = int(kernel.shape[-1])
    edge_pad = EDGE_PAD_KERNELS * kernel_side
    iterations = int(options["iterations"])

    metadata: dict[str, Any] = {
        "method": method,
        "blur": options["blur"],
        "blur_px": float(options["blur_px"]),
        "kernel_px": kernel_side,
        "noise": round(noise, 3),
        "noise_estimated": noise_estimated,
        "regularisation_noise": round(regularisation, 3),
        "iterations": iterations,
        "edges": edges,
        "algorithm": "deepinv.optim HQS (DPIR schedule) with a plug-and-play prior, deepinv.physics.BlurFFT",
        "device": describe_device(device),
        "precision": "fp32",  # FFTs and the classical priors run in fp32
    }
    if options["blur"] == "motion":
        metadata["motion_angle"] = float(options["motion_angle"] or 0)
    if (options.get("method") or "auto") == "auto" and method != "drunet":
        metadata["notes"] = [
            f"auto chose {method} deconvolution: DRUNet's weights are not installed, and {method} is the best "
            f"classical prior expected to finish within {AUTO_BUDGET_S:.0f} s on {pixels / 1e6:.2f} MP here"
        ]
    started = time.perf_counter()
    if method == "drunet":
        denoiser, size_multiple, weights_info = _drunet(str(weights))
        metadata.update(model="DRUNet (DPIR)", fallback=False, **weights_info)
    else:
        denoiser, size_multiple = _classical(method, TV_INNER_ITERATIONS[edges]), 1
        name = f"{'TV' if method == 'tv' else 'wavelet'} deconvolution"
        metadata.update(model=name, weights=f"fallback: {name}", weights_sha256=None, fallback=True)
    restorer = _restorer(denoiser, kernel, regularisation / 255.0, iterations, edge_pad, size_multiple, edges)
    loaded_at = time.perf_counter()

    tile = options["tile"] or AUTO_TILE[f"drunet-{device.type}" if method == "drunet" else method]
    # Tiles share more than a kernel's reach: the tiler's feathering drops each tile's outer quarter of the
    # overlap, where the tile's own edge (reflected, not the real neighbours) still shows.
    overlap = max(MIN_TILE_OVERLAP, 4 * kernel_side)
    progress(STAGE, 0, 1)
    tiler_options = TilerOptions(
        tile=tile, overlap=overlap, precision="fp32", channels_last=False, clamp=True, estimate_progress_s=1.0
    )
    tiler = Tiler(restorer, scale=1, device=device, options=tiler_options)
    with _torch_threads(1 if method != "drunet" and device.type == "cpu" else None):
        result, report = tiler.run(np.ascontiguousarray(image, dtype=np.float32), progress, stage=STAGE)
    metadata["timings_s"] = {"load_model": loaded_at - started, "model": time.perf_counter() - loaded_at}
    metadata["tile"] = report.tile
    metadata["tiles"] = report.tiles
    progress(STAGE, 1, 1)
    return OperationOutput(image=np.ascontiguousarray(np.clip(result, 0, 1), dtype=np.float32), metadata=metadata)


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op threads set to ``threads`` for the block (None: left alone), then restored.

    The classical priors are thousands of small tensor operations (TV: 10 to 50 inner steps per step), where
    torch's threads spend more time waiting on each other than computing: on 2 shared cores, one thread
    took 1.0 CPU s for TV on 128 px where two took 4.7 to 10.5 (wavelet on 256 px: 0.7 against 1.9)."""
    import torch

    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def blur_kernel(kind: str, size_px: float, angle_deg: float = 0.0) -> Any:
    """The blur's point spread function as a (1, 1, k, k) float32 tensor summing to one (k odd)."""
    import torch

    if kind == "gaussian":
        from deepinv.physics.functional import gaussian_blur

        kernel = gaussian_blur(sigma=(size_px, size_px)).float()
    elif kind == "disk":
        kernel = _disk(size_px)
    elif kind == "motion":
        kernel = _motion(size_px, angle_deg)
    else:  # the schema allows only BLURS
        raise ValueError(f"unknown blur {kind!r}")
    kernel = kernel.reshape(1, 1, *kernel.shape[-2:])
    return (kernel / kernel.sum()).to(torch.float32)


def _disk(radius: float) -> Any:
    """A uniform disc of ``radius`` px, its rim's pixels weighted by the area they cover (4x4 sub-samples)."""
    import torch

    half = max(1, math.ceil(radius))
    offsets = (torch.arange(4, dtype=torch.float32) + 0.5) / 4 - 0.5
    grid = torch.arange(-half, half + 1, dtype=torch.float32)
    ys = (grid[:, None] + offsets[None, :]).reshape(-1)
    inside = (ys[:, None] ** 2 + ys[None, :] ** 2 <= radius**2).float()
    side = 2 * half + 1
    return inside.reshape(side, 4, side, 4).mean(dim=(1, 3))


def _motion(length: float, angle_deg: float) -> Any:
    """A straight streak of ``length`` px at ``angle_deg`` (counter-clockwise from horizontal), drawn with
    bilinear sub-pixel samples along it."""
    import torch

    half = max(1, math.ceil(length / 2) + 1)
    side = 2 * half + 1
    kernel = torch.zeros(side, side)
    samples = max(2, math.ceil(length * MOTION_SAMPLES_PER_PX))
    angle = math.radians(angle_deg)
    for t in torch.linspace(-length / 2, length / 2, samples).tolist():
        x, y = half + t * math.cos(angle), half - t * math.sin(angle)  # image rows grow downwards
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                if 0 <= y0 + dy < side and 0 <= x0 + dx < side:
                    kernel[y0 + dy, x0 + dx] += wy * wx
    return kernel


def _restorer(
    denoiser: Any, kernel: Any, noise: float, iterations: int, edge_pad: int, size_multiple: int, edges: str
) -> Any:
    """A module mapping a (B, 3, h, w) tile batch to its deblurred batch: pad, HQS, crop. ``edges``
    "reflected": the padding is trusted as observed; "estimated": re-estimated at every step."""
    import torch
    from deepinv.optim import L2, PnP
    from deepinv.optim.optimizers import BaseOptim, create_iterator
    from deepinv.physics import BlurFFT

    # DPIR's schedule (deepinv.optim.dpir.get_DPIR_params) over ``iterations`` steps.
    sigmas = torch.logspace(math.log10(PRIOR_START_SIGMA), math.log10(noise), steps=iterations)
    stepsizes = DPIR_LAMBDA * (sigmas / max(0.01, noise)) ** 2
    if iterations == 1:
        sigmas, stepsizes = torch.tensor([noise]), torch.tensor([DPIR_LAMBDA])

    class Restorer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.denoiser = denoiser
            self.register_buffer("kernel", kernel)

        def forward(self, blurred: torch.Tensor) -> torch.Tensor:
            height, width = blurred.shape[-2:]
            if hasattr(self.denoiser, "start_tile"):
                self.denoiser.start_tile()
            # The padded side is a multiple of size_multiple, so DRUNet's downsamplings fit.
            extra_h = -(height + 2 * edge_pad) % size_multiple
            extra_w = -(width + 2 * edge_pad) % size_multiple
            pad = (edge_pad, edge_pad + extra_w, edge_pad, edge_pad + extra_h)
            # Reflection needs the pad below the side; a tile smaller than that repeats its edge instead.
            mode = "reflect" if max(pad) < min(height, width) else "replicate"
            reflected = torch.nn.functional.pad(blurred.float(), pad, mode=mode)
            physics = BlurFFT(img_size=tuple(reflected.shape[1:]), filter=self.kernel, device=reflected.device)
            padded = _edge_taper(reflected, physics, pad, height, width)
            prior = PnP(denoiser=self.denoiser)
            inside = torch.zeros_like(padded[:1, :1])
            inside[..., edge_pad : edge_pad + height, edge_pad : edge_pad + width] = 1
            solver = BaseOptim(
                create_iterator("HQS", prior=prior, cost_fn=None, g_first=False),
                max_iter=iterations,
                data_fidelity=L2() if edges == "reflected" else _observed_inside_l2(inside),
                prior=prior,
                early_stop=False,
                params_algo={"stepsize": stepsizes.tolist(), "g_param": sigmas.tolist()},
            )
            restored = solver(padded, physics)
            return restored[..., edge_pad : edge_pad + height, edge_pad : edge_pad + width].to(blurred)

    return Restorer()


def mirror_symmetric(kernel: Any) -> bool:
    """Whether the kernel equals its left-right and up-down mirror images. Such a kernel blurs a reflection
    into the reflection of the blur, so reflected padding is what the camera would have recorded; a slanted
    streak's mirror image is another streak, so there the padding is re-estimated (_observed_inside_l2)."""
    import torch

    tolerance = 1e-4 * float(kernel.max())  # float rounding in drawing a kernel is no asymmetry
    return all(torch.allclose(kernel, kernel.flip(axis), rtol=0, atol=tolerance) for axis in (-1, -2))


def _observed_inside_l2(inside: Any) -> Any:
    """deepinv's L2 data term where only the pixels marked ``inside`` were observed: before each data step,
    the padding's "observation" is replaced by the blur of the current estimate, so it pulls nowhere
    (a fixed point of the masked least squares; with a streak at 30 degrees on the astronaut, 128 px, TV:
    +5.0 dB against +0.5 dB with the reflected padding trusted)."""
    import torch
    from deepinv.optim import L2

    class ObservedInsideL2(L2):
        def prox(
            self, x: torch.Tensor, y: torch.Tensor, physics: Any, *args: Any, gamma: Any = 1.0, **kwargs: Any
        ) -> torch.Tensor:
            y = inside * y + (1 - inside) * physics.A(x)
            return physics.prox_l2(x, y, self.norm * gamma)

    return ObservedInsideL2()


def _edge_taper(reflected: Any, physics: Any, pad: tuple[int, int, int, int], height: int, width: int) -> Any:
    """The reflected tile, faded across its padding into its own circular blur (MATLAB's edgetaper).

    The FFT blur wraps around: where the padding's far edges meet, reflected content is joined to unrelated
    content, and the deconvolution turns that seam into ringing across the whole tile (the Gaussian
    survives, a disk or a streak does not: on the astronaut with a 3 px disk, 20.5 dB after a plain
    reflection, 29.0 dB after the taper, blurred 25.2 dB). Faded into its own blur, the padding is smooth
    where it wraps and consistent with the blur model there."""
    import torch

    left, right, top, bottom = pad

    def ramp(length: int, start: int, stop: int, fade: int) -> torch.Tensor:
        # 1 on the tile, a raised cosine down to 0 at the padding's far edge.
        index = torch.arange(length, dtype=torch.float32, device=reflected.device)
        outside = torch.clamp(torch.maximum(start - index, index - (stop - 1)), min=0) / max(1, fade)
        return 0.5 * (1 + torch.cos(math.pi * outside.clamp(max=1)))

    rows = ramp(reflected.shape[-2], top, top + height, max(top, bottom))
    cols = ramp(reflected.shape[-1], left, left + width, max(left, right))
    window = rows[:, None] * cols[None, :]
    return window * reflected + (1 - window) * physics.A(reflected)


def _classical(method: str, tv_inner_iterations: int) -> Any:
    """deepinv's classical denoiser as DPIR's prior: denoiser(x, sigma), with the denoise job's thresholds."""
    import torch
    from deepinv.models import TVDenoiser, WaveletDenoiser

    class Classical(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tv = TVDenoiser(n_it_max=tv_inner_iterations)

        def start_tile(self) -> None:
            # deepinv's TV denoiser warm-starts each call from the last one's solution: right between the
            # steps of one tile, wrong across tiles (a 4 MP photo in 6 tiles fell from 35.7 dB to 22.9).
            self.tv.restart = True

        def forward(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
            if method == "tv":
                return self.tv(x, ths=TV_THRESHOLD_PER_SIGMA * sigma)
            wavelet = WaveletDenoiser(level=3, wv="db8", device=x.device)
            return wavelet(x, ths=WAVELET_THRESHOLD_PER_SIGMA * sigma)

    return Classical()


def _drunet(weights: str) -> tuple[Any, int, dict[str, Any]]:
    """DRUNet (spandrel) as DPIR's prior: denoiser(x, sigma) with the noise level as a fourth input channel."""
    import torch

    loaded, size_multiple, weights_info = load_drunet(weights)

    class WithNoiseLevel(torch.nn.Module):
        def __init__(self, drunet: torch.nn.Module) -> None:
            super().__init__()
            self.drunet = drunet

        def forward(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
            return self.drunet(with_noise_level(x, sigma))

    return WithNoiseLevel(loaded.module), size_multiple, weights_info
