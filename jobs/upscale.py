"""The upscale operation: a spandrel super-resolution model run through our tiler.

Options (all optional):

- ``model``: a registered name (``jobs.weights.names_for("upscale")``), default ``realesrgan-x4plus``;
- ``weights``: a .pth/.safetensors/.pt path or file:// / s3:// URI instead of a registered model;
- ``outscale``: the final scale relative to the input (default: the model's); the model's
  output is resampled with Lanczos (up) or area (down) to reach it;
- ``tile``: nominal tile size in input pixels, 0 = auto (512 on CUDA; on the CPU sized to the free memory);
- ``tile_overlap``: input pixels shared by neighbouring tiles (default 32);
- ``precision``: auto | fp16 | fp32 (auto: fp16 on CUDA for a model whose spandrel descriptor
  ``supports_half``, else fp32);
- ``device``: auto | cpu | cuda | cuda:N;
- ``batch``: tiles per forward pass, 0 = auto;
- ``compile``: torch.compile the model (default off).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from aiorch.contracts import JobStage, Operation
from aiorch.settings import get_settings
from jobs.contract import JobFailure, OperationOutput, Progress, no_progress
from jobs.devices import describe_device, pick_device
from jobs.options import choose_precision, option_names, read_options, refuse
from jobs.tiler import MIN_TILE, Tiler, TilerOptions, available_memory
from jobs.weights import LoadedModel, load_model

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL = "realesrgan-x4plus"
AUTO_TILE = {"cuda": 512, "cpu": 0}  # cpu 0: the tiler sizes tiles to the free memory (jobs/tiler.py plan_tile)
AUTO_BATCH_PIXELS = 512 * 512  # on CUDA, batch small tiles up to about this many input pixels per pass
JOB = "upscale"
# A large CPU tile runs for minutes: progress.json moves inside it, estimated, this often.
PROGRESS_ESTIMATE_S = 1.0


@dataclass(frozen=True)
class UpscaleOptions:
    model: str = DEFAULT_MODEL
    weights: str | None = None
    outscale: float | None = None
    tile: int = 0
    tile_overlap: int = 32
    precision: str = "auto"
    device: str = "auto"
    batch: int = 0
    compile: bool = False


OPTIONS = option_names(Operation.upscale)  # the names the job CLI passes through


def parse_options(options: dict[str, Any] | None) -> UpscaleOptions:
    """The job's options, checked by the operation's schema (aiorch.operations) with its defaults."""
    values = read_options(Operation.upscale, JOB, options)
    return UpscaleOptions(**{name: values[name] for name in UpscaleOptions.__dataclass_fields__})


def check_tile_fits(height: int, width: int, options: TilerOptions, available_bytes: int) -> None:
    """A tile option too large for this job's share of the free memory is refused in the option's words.

    The estimate is the one tile 0 plans with (options.bytes_per_pixel per input pixel of a tile).
    """
    if not options.tile:
        return
    per_job = available_bytes / max(1, options.slots)
    tile_h, tile_w = min(height, options.tile + options.overlap), min(width, options.tile + options.overlap)
    if tile_h * tile_w * options.batch * options.bytes_per_pixel <= per_job:
        return
    largest = max(MIN_TILE, math.isqrt(int(per_job / options.bytes_per_pixel / options.batch)) - options.overlap)
    raise refuse(
        Operation.upscale,
        JOB,
        "tile",
        options.tile,
        f"0 (automatic) or at most {largest} px on this device for this image (a larger tile needs more than "
        f"the {per_job / 2**20:.0f} MiB of memory free for this job)",
    )


def libraries(options: dict[str, Any]) -> tuple[str, ...]:
    """What the job imports before its first pixel (the job CLI times it as timings_s.imports)."""
    return ("torch", "spandrel")


_MODELS: dict[tuple[str, str | None], LoadedModel] = {}
_TILERS: dict[tuple[Any, ...], Tiler] = {}


def _model(opts: UpscaleOptions) -> LoadedModel:
    key = (opts.model, opts.weights)
    if key not in _MODELS:  # one process may upscale many images (the benchmark does)
        _MODELS[key] = load_model(name=opts.model, weights=opts.weights)
    return _MODELS[key]


def _tiler(loaded: LoadedModel, device: torch.device, tiler_options: TilerOptions) -> Tiler:
    key = (loaded.name, loaded.sha256, str(device), tiler_options)
    if key not in _TILERS:
        _TILERS.clear()  # one model per device at a time is enough, and keeps memory bounded
        _TILERS[key] = Tiler(loaded.module, loaded.scale, device, tiler_options, loaded.size_multiple)
    return _TILERS[key]


def run(image: np.ndarray, options: dict[str, Any] | None, progress: Progress = no_progress) -> OperationOutput:
    started = time.perf_counter()
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.float32:
        raise JobFailure("Upscale takes a float32 RGB image (H x W x 3).", "BadInput")
    opts = parse_options(options)
    device = pick_device(opts.device)
    if opts.precision == "fp16" and device.type != "cuda":  # known before loading anything
        raise refuse(Operation.upscale, JOB, "precision", "fp16", "auto or fp32 on the CPU (fp16 needs a CUDA GPU)")

    progress(JobStage.loading_model, 0, 1)
    loaded = _model(opts)
    if loaded.scale < 2:
        raise JobFailure(
            f"The weights {loaded.weights!r} are a {loaded.architecture} model of scale {loaded.scale}, "
            "not an upscaler.",
            "BadOptions",
        )
    precision = choose_precision(
        Operation.upscale,
        JOB,
        opts.precision,
        device_type=device.type,
        supports_half=loaded.supports_half,
        model=loaded.architecture,
    )
    loaded_at = time.perf_counter()
    tile = opts.tile or AUTO_TILE["cuda" if device.type == "cuda" else "cpu"]
    batch = opts.batch or (max(1, AUTO_BATCH_PIXELS // (tile * tile)) if device.type == "cuda" else 1)
    tiler_options = TilerOptions(
        tile=tile,
        overlap=opts.tile_overlap,
        batch=batch,
        precision=precision,
        compile=opts.compile,
        clamp=True,  # on the device, per tile: no pass over the full output on the host
        slots=get_settings().job_slots,  # the jobs that share this machine's memory (tile 0 only)
        estimate_progress_s=PROGRESS_ESTIMATE_S,
    )
    if device.type == "cpu":  # a GPU halves a tile that runs out of its memory; the CPU has no such retry
        check_tile_fits(image.shape[0], image.shape[1], tiler_options, available_memory(device))
    tiler = _tiler(loaded, device, tiler_options)
    output, report = tiler.run(image, progress, stage=JobStage.upscaling)

    resized_at = time.perf_counter()
    height, width = image.shape[:2]
    outscale = opts.outscale or loaded.total_scale
    target = (max(1, round(width * outscale)), max(1, round(height * outscale)))
    if loaded.output_resize != 1.0:  # the packaged animevideov3 x2/x3 graphs end with a bicubic resize
        output = _resize(output, (round(width * loaded.total_scale), round(height * loaded.total_scale)), "bicubic")
    if (output.shape[1], output.shape[0]) != target:
        output = _resize(output, target, "lanczos" if target[0] > output.shape[1] else "area")
    finished = time.perf_counter()

    metadata = {
        "operation": "upscale",
        "model": loaded.name,
        "architecture": loaded.architecture,
        "weights": loaded.weights,
        "weights_source": loaded.source,
        "weights_sha256": loaded.sha256,
        "converted_sha256": loaded.converted_sha256,
        "license": loaded.license,
        "fallback": False,
        "device": describe_device(device),
        "precision": precision,
        "tile": report.tile,
        "tile_overlap": opts.tile_overlap,
        "tiles": report.grid[0] * report.grid[1],
        "pixels_computed_over_kept": report.overhead,
        "batch": batch,
        "oom_retries": report.oom_retries,
        "fp32_retries": report.fp32_retries,
        "scale": loaded.total_scale,
        "outscale": outscale,
        "input_size": [width, height],
        "output_size": [output.shape[1], output.shape[0]],
        "timings_s": {  # the job CLI places load_model and model; the rest is detail
            "load_model": round(loaded_at - started, 4),
            "model": round(resized_at - loaded_at, 4),
            "resize": round(finished - resized_at, 4),
        },
    }
    return OperationOutput(image=np.ascontiguousarray(output, dtype=np.float32), metadata=metadata)


def _resize(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    import cv2

    interpolation = {"bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4, "area": cv2.INTER_AREA}[method]
    resized = cv2.resize(image, size, interpolation=interpolation)
    return np.clip(resized, 0.0, 1.0, out=resized)
