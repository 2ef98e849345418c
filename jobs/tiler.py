"""Run an image-to-image model over overlapping tiles and blend them without seams.

Why our own tiler: upstream Real-ESRGAN moves the whole image and a full-size
output to the GPU, runs one tile at a time with no blending (visible seams), and
after an out-of-memory error in a later tile silently reuses the previous one.

How this one works:

- The input is cut into a grid of equal tiles that overlap by at least ``overlap``
  input pixels. Each tile's output is multiplied by a separable feather weight
  (zero on the outer quarter of each overlap, a linear ramp across its middle
  half, one inside), normalised so that the weights of all tiles sum to exactly
  one at every output pixel; the output is then a plain sum of weighted tiles.
- The full output lives in host memory; neither the whole image nor the whole
  output ever goes to the GPU. Only tiles travel, through two pinned staging
  buffers: a batch of input tiles goes up, the weighted outputs come back on a
  separate copy stream while the GPU already computes the next batch, and the
  host adds the finished batch into the output. GPU memory therefore depends
  on the tile size and batch, not on the image size.
- fp16 on CUDA: each batch's output is checked for NaN/inf; a bad batch is run
  again in fp32.
- A CUDA out-of-memory error halves the tile size: that batch and every later
  tile are computed by a nested tiled run with the smaller tile, then weighted
  exactly as planned, so no tile is ever reused or skipped.
- Progress is reported per tile of the top-level grid.
- ``tile=0`` sizes the tiles to the device (``plan_tile``): the memory free for
  one job (available memory / job slots, at most half of it, and at most the
  GPU memory goal) over the model's memory per input pixel. On a CPU with
  gigabytes free a photo then runs in one or a few large tiles, so the overlap
  costs little; the report counts the pixels computed over the pixels kept.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from aiorch.contracts import TILE_ESTIMATE_SUFFIX, JobStage
from jobs.contract import JobFailure, Progress, no_progress

if TYPE_CHECKING:
    import torch

MIN_TILE = 16
GPU_MEMORY_GOAL = 4 * 1024**3  # a job's tiles stay within this on a GPU, whatever the card has free
# RRDBNet x4plus in fp32 on the CPU: the peak resident memory grew 9.9 KB per input pixel for a
# 96x96 tile (this machine, torch 2.14); 12 KB leaves room for the staging copies and blending.
X4PLUS_BYTES_PER_PIXEL = 12 * 1024


def plan_tile(
    height: int,
    width: int,
    *,
    overlap: int,
    bytes_per_pixel: float,
    available_bytes: int,
    slots: int = 1,
    goal_bytes: int | None = None,
) -> int:
    """The nominal tile side for an image, from the memory one job may use and the model's need per pixel.

    One job may use ``available_bytes / slots``, at most half of it (the rest is the image, the
    output, the other jobs), and at most ``goal_bytes``. A tile is at most ``tile + overlap`` a side.
    """
    budget = available_bytes / max(1, slots) / 2
    if goal_bytes is not None:
        budget = min(budget, goal_bytes)
    max_pixels = budget / bytes_per_pixel
    if height * width <= max_pixels:
        return max(height, width, MIN_TILE)  # the whole image in one tile: no overlap at all
    return max(MIN_TILE, math.isqrt(int(max_pixels)) - overlap)


def tile_overhead(height: int, width: int, tile: int, overlap: int) -> float:
    """Pixels the tiles compute over the pixels of the image (1.0: no overlap)."""
    rows, tile_h = axis_tiles(height, tile, overlap)
    cols, tile_w = axis_tiles(width, tile, overlap)
    return len(rows) * tile_h * len(cols) * tile_w / (height * width)


def available_memory(device: torch.device) -> int:
    """Bytes free for new work on the device: MemAvailable on the CPU, the CUDA allocator's free memory."""
    if device.type == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    with open("/proc/meminfo", encoding="ascii") as meminfo:  # Linux; the job image is Linux
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise JobFailure("Cannot read the free memory (/proc/meminfo); set the tile option.", "InternalError")


@dataclass(frozen=True)
class TilerOptions:
    tile: int  # nominal input pixels per tile side (tiles grow by up to ``overlap``); >= the image: one tile;
    # 0: sized to the device's free memory (plan_tile)
    overlap: int = 32  # input pixels shared by neighbouring tiles
    batch: int = 1  # tiles per forward pass
    precision: str = "fp32"  # "fp16" or "fp32"
    channels_last: bool = True
    compile: bool = False  # torch.compile the model (static tile shape)
    clamp: bool = False  # clamp each tile's output to [0, 1] on the device (blending keeps it in range)
    bytes_per_pixel: float = X4PLUS_BYTES_PER_PIXEL  # the model's memory per input pixel, for tile=0
    slots: int = 1  # jobs sharing the device, for tile=0
    # > 0: progress also moves inside a tile, estimated from the measured rate every this many seconds,
    # and the stage says so (TileProgressEstimate); 0: progress per finished tile only.
    estimate_progress_s: float = 0.0


@dataclass
class TilerReport:
    tile: int  # the tile size finally used
    grid: tuple[int, int]  # rows x columns of the top-level grid
    tiles: int = 0  # forward passes' worth of tiles, nested runs included
    batches: int = 0
    oom_retries: int = 0  # times the tile size was halved
    fp32_retries: int = 0  # batches re-run in fp32 after NaN/inf in fp16
    computed_pixels: int = 0  # input pixels the model ran on, overlaps and nested runs included
    kept_pixels: int = 0  # input pixels of the image

    @property
    def overhead(self) -> float:
        """Pixels computed over pixels kept (1.0: every computed pixel was needed once)."""
        return round(self.computed_pixels / self.kept_pixels, 4) if self.kept_pixels else 0.0

    timings_s: dict[str, float] = field(default_factory=dict)


def axis_tiles(length: int, tile: int, overlap: int) -> tuple[list[int], int]:
    """Start offsets and the common size of tiles covering ``length``.

    ``tile`` is the nominal size, as in upstream Real-ESRGAN (tile 256, pad 10):
    ceil(length / tile) tiles, each grown so that neighbours share at least
    ``overlap`` pixels; a tile is never larger than ``tile + overlap``.
    """
    if length <= tile:
        return [0], length
    count = math.ceil(length / tile)
    overlap = min(overlap, tile)
    size = min(length, math.ceil((length + (count - 1) * overlap) / count))
    starts = [round(i * (length - size) / (count - 1)) for i in range(count)]
    return starts, size


def axis_weights(starts: list[int], size: int, length: int, scale: int) -> list[np.ndarray]:
    """Per-tile 1-D feather weights in output pixels; summed over tiles they are one everywhere."""
    out_size, out_length = size * scale, length * scale
    centres = np.arange(out_size, dtype=np.float64) + 0.5
    weights = []
    for index, start in enumerate(starts):
        weight = np.ones(out_size, dtype=np.float64)
        if index > 0:  # ramp up across the overlap with the previous tile
            shared = max((starts[index - 1] + size - start) * scale, 1)
            weight *= np.clip((centres - shared / 4) / (shared / 2), 0.0, 1.0)
        if index < len(starts) - 1:  # ramp down across the overlap with the next tile
            shared = max((start + size - starts[index + 1]) * scale, 1)
            weight *= np.clip((out_size - centres - shared / 4) / (shared / 2), 0.0, 1.0)
        weights.append(weight)
    total = np.zeros(out_length, dtype=np.float64)
    for start, weight in zip(starts, weights, strict=True):
        total[start * scale : start * scale + out_size] += weight
    if np.any(total <= 0):
        raise AssertionError("tile weights leave pixels uncovered")  # a planning bug, not bad input
    return [
        (weight / total[start * scale : start * scale + out_size]).astype(np.float32)
        for start, weight in zip(starts, weights, strict=True)
    ]


class Tiler:
    """Holds the model copies for one device; ``run`` upscales one image."""

    def __init__(
        self,
        model: torch.nn.Module,
        scale: int,
        device: torch.device,
        options: TilerOptions,
        size_multiple: int = 1,
    ) -> None:
        import torch

        self.scale = scale
        self.device = device
        self.options = options
        self.size_multiple = size_multiple
        memory_format = torch.channels_last if options.channels_last else torch.contiguous_format
        self._models: dict[str, Any] = {}
        self._base = model.eval().to(device=device, memory_format=memory_format)  # type: ignore[call-overload]  # torch stubs lack this overload
        self._memory_format = memory_format
        self._copy_stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        self.seconds_per_pixel: float | None = None  # measured by the last run (TileProgressEstimate)
        self._pinned: dict[tuple[str, tuple[object, ...]], list[torch.Tensor]] = {}
        if device.type == "cuda":
            # Every tile of a run has one shape, so letting cuDNN pick the fastest kernels pays off.
            torch.backends.cudnn.benchmark = True

    def pinned_buffers(
        self, role: str, shape: tuple[int, ...], dtype: torch.dtype, keep: bool = True
    ) -> list[torch.Tensor]:
        """Two page-locked staging buffers; with ``keep`` they serve the next image too (pinning is slow).

        Nested runs pass keep=False: they must not share buffers with a top-level batch still in flight.
        """
        import torch

        key = (role, (*shape, str(dtype)))
        if not keep:
            return [torch.empty(shape, dtype=dtype, pin_memory=True) for _ in range(2)]
        if key not in self._pinned:
            self._pinned[key] = [torch.empty(shape, dtype=dtype, pin_memory=True) for _ in range(2)]
        return self._pinned[key]

    def model(self, precision: str) -> Callable[[torch.Tensor], torch.Tensor]:
        """The fp32 or fp16 copy of the model (made on first use)."""
        import copy

        import torch

        if precision not in self._models:
            module = self._base if precision == "fp32" else copy.deepcopy(self._base).half()
            self._models[precision] = torch.compile(module, dynamic=False) if self.options.compile else module
        return self._models[precision]

    def device_tile(self, height: int, width: int) -> int:
        """plan_tile for this device now (the GPU keeps its memory goal)."""
        return plan_tile(
            height,
            width,
            overlap=self.options.overlap,
            bytes_per_pixel=self.options.bytes_per_pixel,
            available_bytes=available_memory(self.device),
            slots=self.options.slots,
            goal_bytes=GPU_MEMORY_GOAL if self.device.type == "cuda" else None,
        )

    # --- the public entry point ----------------------------------------------------------------------

    def run(
        self, image: np.ndarray, progress: Progress = no_progress, stage: str = JobStage.upscaling
    ) -> tuple[np.ndarray, TilerReport]:
        """Upscale a float32 HxWxC image; returns the (H*scale)x(W*scale)xC float32 output and a report."""
        import torch

        if image.ndim != 3 or image.dtype != np.float32:
            raise ValueError("the tiler takes a float32 HxWxC array")
        height, width = image.shape[:2]
        tile = max(self.options.tile or self.device_tile(height, width), MIN_TILE)
        rows, tile_h = axis_tiles(height, tile, self.options.overlap)
        cols, tile_w = axis_tiles(width, tile, self.options.overlap)
        report = TilerReport(tile=tile, grid=(len(rows), len(cols)), kept_pixels=height * width)
        estimate = None
        if self.options.estimate_progress_s > 0:
            estimate = TileProgressEstimate(
                progress, stage, len(rows) * len(cols), tile_h * tile_w, self.seconds_per_pixel,
                self.options.estimate_progress_s,
            )  # fmt: skip
            progress, stage = estimate, estimate.stage
            estimate.start()
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                source = torch.from_numpy(np.ascontiguousarray(image))
                output = _Run(self, report, top_level=True).execute(
                    source, tile, self.options.precision, progress, stage
                )
        finally:
            if estimate is not None:
                estimate.stop()
        report.timings_s["tiled_run"] = time.perf_counter() - started
        if report.computed_pixels:  # the device's rate, for the estimates of the next image (a warm worker's)
            self.seconds_per_pixel = report.timings_s["tiled_run"] / report.computed_pixels
        return output.numpy(), report


class TileProgressEstimate:
    """A Progress for one tiled run that also moves inside a long tile, so a large tile does not freeze
    the progress bar: counted in hundredths of a tile, from the measured time per tile (this run's tiles
    so far, else the device's rate in seconds per pixel from the tiler's last run), never past 99% of the
    running tile, never backwards. The stage is named as an estimate. Without any rate yet (the first
    tile of a fresh process), the first tile moves only when it ends.
    """

    STEPS = 100  # progress units per tile

    def __init__(
        self,
        progress: Progress,
        stage: str,
        tiles: int,
        tile_pixels: int,
        seconds_per_pixel: float | None,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.progress = progress
        self.stage = f"{stage}{TILE_ESTIMATE_SUFFIX}"
        self.tiles = tiles
        self.interval_s = interval_s
        self.clock = clock
        self._per_tile = seconds_per_pixel * tile_pixels if seconds_per_pixel else None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._tick_until_stopped, name="tile-progress", daemon=True)
        self._started = self._tile_started = clock()
        self._done = 0
        self._reported = -1

    def start(self) -> None:
        with self._lock:
            self._report(0)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def __call__(self, stage: str, done: int, total: int) -> None:
        """A tile finished (the run reports per tile)."""
        with self._lock:
            now = self.clock()
            if done > 0:
                self._per_tile = (now - self._started) / done  # this run's own rate, once it has one
            self._done, self._tile_started = done, now
            self._report(done * self.STEPS)

    def tick(self) -> None:
        """Move the estimate inside the running tile."""
        with self._lock:
            if self._per_tile is None or self._per_tile <= 0 or self._done >= self.tiles:
                return
            fraction = min(0.99, (self.clock() - self._tile_started) / self._per_tile)
            self._report(self._done * self.STEPS + int(fraction * self.STEPS))

    def _report(self, steps: int) -> None:
        if steps > self._reported:
            self._reported = steps
            self.progress(self.stage, steps, self.tiles * self.STEPS)

    def _tick_until_stopped(self) -> None:
        while not self._stopped.wait(self.interval_s):
            self.tick()


@dataclass
class _Grid:
    """Where the tiles of one pass lie: start offsets, the common tile size, and their blend weights."""

    rows: list[int]
    cols: list[int]
    tile_h: int
    tile_w: int
    weights_y: list[np.ndarray]  # per row of tiles, in output pixels
    weights_x: list[np.ndarray]  # per column of tiles

    @classmethod
    def plan(cls, height: int, width: int, tile: int, overlap: int, scale: int) -> _Grid:
        rows, tile_h = axis_tiles(height, tile, overlap)
        cols, tile_w = axis_tiles(width, tile, overlap)
        return cls(rows, cols, tile_h, tile_w, axis_weights(rows, tile_h, height, scale),
                   axis_weights(cols, tile_w, width, scale))  # fmt: skip

    @property
    def positions(self) -> list[tuple[int, int]]:
        return [(r, c) for r in range(len(self.rows)) for c in range(len(self.cols))]

    def region(self, rc: tuple[int, int]) -> tuple[slice, slice]:
        """The input pixels of tile (row, column)."""
        r, c = rc
        return slice(self.rows[r], self.rows[r] + self.tile_h), slice(self.cols[c], self.cols[c] + self.tile_w)


@dataclass
class _Staging:
    """The CUDA branch's two page-locked slots: input tiles up, weighted outputs and finite flags back."""

    inputs: list[torch.Tensor]
    outputs: list[torch.Tensor]
    flags: list[torch.Tensor]


@dataclass
class _Launched:
    """A batch queued on the device: its tiles, and where its weighted output will be."""

    batch: list[tuple[int, int]]
    precision: str
    slot: int
    finite: torch.Tensor | None = None  # CPU: the result itself
    weighted: torch.Tensor | None = None
    copied: Any = None  # CUDA: the event recorded after the copy back
    keep: tuple[torch.Tensor, ...] = ()  # CUDA: device tensors kept alive until the copy ends


class _Run:
    """One tiled pass over one image (nested runs handle out-of-memory and fp32 retries).

    ``execute`` plans the grid, then launches batches with one in flight: each launched batch is
    finished (waited for, checked finite, added into the output) while the next one computes. A batch
    that runs out of memory halves the tile from then on; a batch that is not finite in fp16 is redone
    in fp32; both through nested runs whose output is weighted as the planned tile would have been.
    """

    def __init__(self, tiler: Tiler, report: TilerReport, top_level: bool) -> None:
        self.tiler = tiler
        self.report = report
        self.top_level = top_level
        self.cuda = tiler.device.type == "cuda"

    def execute(self, source: torch.Tensor, tile: int, precision: str, progress: Progress, stage: str) -> torch.Tensor:
        import torch

        tiler, scale = self.tiler, self.tiler.scale
        height, width, channels = source.shape
        self._source, self._progress, self._stage = source, progress, stage
        self._grid = grid = _Grid.plan(height, width, tile, tiler.options.overlap, scale)
        # The output stays in ordinary host memory: tiles come back through pinned staging buffers,
        # and pinning a whole output would cost more time than the copies it speeds up.
        self._output = torch.zeros((height * scale, width * scale, channels), dtype=torch.float32)
        positions = grid.positions
        self._total, self._done = len(positions), 0
        batch_size = max(1, tiler.options.batch)
        self._device_wy = [torch.from_numpy(w).to(tiler.device) for w in grid.weights_y]
        self._device_wx = [torch.from_numpy(w).to(tiler.device) for w in grid.weights_x]
        self._staging = self._staging_buffers(batch_size, channels) if self.cuda else None

        pending: list[_Launched] = []
        current_tile = tile
        for batch_start in range(0, self._total, batch_size):
            batch = positions[batch_start : batch_start + batch_size]
            if current_tile < tile:  # an earlier batch ran out of memory: smaller tiles from now on
                self._via_nested_run(batch, current_tile, precision)
                continue
            slot = (batch_start // batch_size) % 2
            try:
                launched: _Launched | None = self._launch(batch, slot, precision)
            except torch.cuda.OutOfMemoryError:
                launched = None
            if launched is None:
                while pending:
                    self._finish(pending.pop(0))
                current_tile = self._smaller_tile_after_oom(tile)
                self._via_nested_run(batch, current_tile, precision)
                continue
            pending.append(launched)
            # On CUDA keep one batch in flight: finish the previous one while the GPU computes this one.
            # A CPU batch is already computed: finish it now, so its tiles count as done when they are.
            while len(pending) > (1 if self._staging is not None else 0):
                self._finish(pending.pop(0))
        while pending:
            self._finish(pending.pop(0))
        return self._output

    def _staging_buffers(self, batch_size: int, channels: int) -> _Staging:
        import torch

        tiler, scale, grid, keep = self.tiler, self.tiler.scale, self._grid, self.top_level
        out_shape = (batch_size, grid.tile_h * scale, grid.tile_w * scale, channels)
        return _Staging(
            inputs=tiler.pinned_buffers("in", (batch_size, grid.tile_h, grid.tile_w, channels), torch.float32, keep),
            outputs=tiler.pinned_buffers("out", out_shape, torch.float32, keep),
            flags=tiler.pinned_buffers("finite", (1,), torch.bool, keep),
        )

    def _smaller_tile_after_oom(self, tile: int) -> int:
        """Out of memory: free the cache and halve the tile (a failure below MIN_TILE)."""
        import torch

        if self.cuda:
            torch.cuda.empty_cache()
        smaller = tile // 2
        if smaller < MIN_TILE:
            raise JobFailure(f"Out of GPU memory even with {smaller * 2}-pixel tiles.", "OutOfMemory") from None
        self.report.oom_retries += 1
        self.report.tile = min(self.report.tile, smaller)
        return smaller

    def _accumulate(self, batch: list[tuple[int, int]], tiles_out: torch.Tensor) -> None:
        """Add weighted tiles into the output; the top-level run reports each tile done."""
        scale = self.tiler.scale
        for index, rc in enumerate(batch):
            ys, xs = self._grid.region(rc)
            self._output[ys.start * scale : ys.stop * scale, xs.start * scale : xs.stop * scale] += tiles_out[index]
            self._done += 1
            if self.top_level:
                self._progress(self._stage, self._done, self._total)

    def _via_nested_run(self, batch: list[tuple[int, int]], nested_tile: int, nested_precision: str) -> None:
        """Compute each tile of ``batch`` with a nested tiled run, then weight it as planned."""
        import torch

        grid, results = self._grid, []
        for rc in batch:
            ys, xs = grid.region(rc)
            nested = _Run(self.tiler, self.report, top_level=False).execute(
                self._source[ys, xs], nested_tile, nested_precision, no_progress, self._stage
            )
            r, c = rc
            weight = (
                torch.from_numpy(grid.weights_y[r])[:, None, None] * torch.from_numpy(grid.weights_x[c])[None, :, None]
            )
            results.append(nested * weight)
        self._accumulate(batch, torch.stack(results))

    def _finish(self, launched: _Launched) -> None:
        """Wait for a launched batch, retry it in fp32 if it is not finite, add it to the output."""
        if self._staging is not None:
            launched.copied.synchronize()
            finite = bool(self._staging.flags[launched.slot].item())
            tiles_out = self._staging.outputs[launched.slot]
        else:
            assert launched.finite is not None and launched.weighted is not None
            finite = bool(launched.finite.item())
            tiles_out = launched.weighted
        if finite:
            self._accumulate(launched.batch, tiles_out)
        elif launched.precision == "fp32":
            raise JobFailure("The model produced NaN or infinite values even in fp32.", "ModelFailed")
        else:
            self.report.fp32_retries += 1
            self._via_nested_run(launched.batch, max(self._grid.tile_h, self._grid.tile_w), "fp32")

    def _launch(self, batch: list[tuple[int, int]], slot: int, precision: str) -> _Launched:
        """Queue one batch: upload, forward, weight, and (on CUDA) the copy back."""
        x = self._upload(batch, slot)
        y, finite = self._forward(x, len(batch), precision)
        weighted = self._weight(y, batch)
        self.report.tiles += len(batch)
        # Unpadded: what the image needed computed (a compile's full static slot counts its real tiles).
        self.report.computed_pixels += len(batch) * x.shape[1] * x.shape[2]
        self.report.batches += 1
        if self._staging is None:
            return _Launched(batch, precision, slot, finite=finite, weighted=weighted)
        return self._copy_back(_Launched(batch, precision, slot), weighted, finite)

    def _upload(self, batch: list[tuple[int, int]], slot: int) -> torch.Tensor:
        """The batch's input tiles on the device, NHWC (CUDA: through the pinned staging slot)."""
        import torch

        tiler = self.tiler
        tiles = [self._source[self._grid.region(rc)] for rc in batch]
        if self._staging is None:
            return torch.stack(tiles)
        host = self._staging.inputs[slot][: len(batch)]
        for index, tile in enumerate(tiles):
            host[index].copy_(tile)
        if tiler.options.compile and len(batch) < tiler.options.batch:  # keep one static shape for compile
            host = self._staging.inputs[slot]
        return host.to(tiler.device, non_blocking=True)

    def _forward(self, x: torch.Tensor, count: int, precision: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The model on NHWC tiles (padded to its size multiple): (NHWC output cropped back, all finite?)."""
        import torch
        import torch.nn.functional as F

        tiler, scale = self.tiler, self.tiler.scale
        dtype = torch.float16 if precision == "fp16" else torch.float32
        # NHWC memory viewed as NCHW is exactly channels_last.
        x = x.permute(0, 3, 1, 2).to(dtype)
        height, width = x.shape[-2:]
        multiple = tiler.size_multiple
        pad_h, pad_w = (-height) % multiple, (-width) % multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        y = tiler.model(precision)(x.contiguous(memory_format=tiler._memory_format))
        y = y[:count, :, : height * scale, : width * scale].permute(0, 2, 3, 1)
        finite = torch.isfinite(y).all()
        if tiler.options.clamp:
            y = y.clamp(0.0, 1.0)
        return y, finite

    def _weight(self, y: torch.Tensor, batch: list[tuple[int, int]]) -> torch.Tensor:
        """Each tile's output times its blend weight, in fp32."""
        import torch

        wy = torch.stack([self._device_wy[r] for r, _ in batch])[:, :, None, None]
        wx = torch.stack([self._device_wx[c] for _, c in batch])[:, None, :, None]
        return (y.float() * wy).mul_(wx)

    def _copy_back(self, launched: _Launched, weighted: torch.Tensor, finite: torch.Tensor) -> _Launched:
        """CUDA: queue the copy of the weighted tiles and the finite flag into the staging slot on the copy
        stream, after the compute; the recorded event tells ``_finish`` when they have arrived."""
        import torch

        assert self._staging is not None
        stream = self.tiler._copy_stream
        assert stream is not None
        count = len(launched.batch)
        stream.wait_stream(torch.cuda.current_stream(self.tiler.device))
        with torch.cuda.stream(stream):
            self._staging.outputs[launched.slot][:count].copy_(weighted, non_blocking=True)
            self._staging.flags[launched.slot].copy_(finite.reshape(1), non_blocking=True)
            copied = torch.cuda.Event()
            copied.record(stream)
        launched.copied = copied
        # Keep the device tensors alive until the copy has finished (the caching allocator could reuse them).
        launched.keep = (weighted, finite)
        return launched
