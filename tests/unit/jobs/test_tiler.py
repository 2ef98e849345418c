"""The tiler: seamless blending, out-of-memory backoff, NaN fallback, progress."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from spandrel.architectures.Compact import Compact
from spandrel.architectures.ESRGAN import ESRGAN

from jobs.contract import JobFailure
from jobs.tiler import Tiler, TilerOptions, axis_tiles, axis_weights

# Tiled output may differ from whole-image output only where a tile's missing context
# reaches the blended band. With these small random models and overlap 16 it stays below:
SEAM_TOLERANCE = 1e-3


def small_rrdbnet() -> torch.nn.Module:
    torch.manual_seed(0)
    return ESRGAN(num_filters=16, num_blocks=2, scale=4).eval()


def small_compact() -> torch.nn.Module:
    torch.manual_seed(0)
    return Compact(num_feat=16, num_conv=4, upscale=4).eval()


def whole_image(model: torch.nn.Module, image: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(image).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).random((50, 70, 3), dtype=np.float32)


def test_tiles_cover_each_axis_with_at_least_the_overlap() -> None:
    starts, size = axis_tiles(1024, 512, 32)
    assert starts == [0, 496] and size == 528  # two tiles, not three: the overlap grows the tiles
    starts, size = axis_tiles(100, 32, 8)
    assert starts[0] == 0 and starts[-1] + size == 100
    assert all(b - a <= size - 8 for a, b in itertools.pairwise(starts))
    assert axis_tiles(20, 32, 8) == ([0], 20)


def test_feather_weights_sum_to_one_at_every_output_pixel() -> None:
    starts, size = axis_tiles(100, 32, 12)
    weights = axis_weights(starts, size, 100, scale=4)
    total = np.zeros(400)
    for start, weight in zip(starts, weights, strict=True):
        total[start * 4 : start * 4 + size * 4] += weight
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


@pytest.mark.parametrize("make_model", [small_rrdbnet, small_compact])
@pytest.mark.parametrize(("tile", "batch"), [(32, 1), (24, 4)])
def test_tiled_output_matches_whole_image_output(make_model, tile: int, batch: int, image: np.ndarray) -> None:
    model = make_model()
    tiler = Tiler(model, 4, torch.device("cpu"), TilerOptions(tile=tile, overlap=16, batch=batch))
    tiled, report = tiler.run(image)
    assert report.grid[0] * report.grid[1] > 1
    assert tiled.shape == (200, 280, 3)
    assert np.abs(tiled - whole_image(model, image)).max() < SEAM_TOLERANCE


def test_without_overlap_the_seams_show(image: np.ndarray) -> None:
    """The tolerance above is meaningful: no overlap gives seams far above it."""
    model = small_compact()
    tiled, _ = Tiler(model, 4, torch.device("cpu"), TilerOptions(tile=24, overlap=0)).run(image)
    assert np.abs(tiled - whole_image(model, image)).max() > 10 * SEAM_TOLERANCE


class OutOfMemoryAbove(torch.nn.Module):
    """Raises CUDA's out-of-memory error for inputs larger than ``limit`` pixels a side."""

    def __init__(self, inner: torch.nn.Module, limit: int) -> None:
        super().__init__()
        self.inner, self.limit, self.refused = inner, limit, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if max(x.shape[-2:]) > self.limit:
            self.refused += 1
            raise torch.cuda.OutOfMemoryError("simulated: CUDA out of memory")
        return self.inner(x)


def test_out_of_memory_halves_the_tile_and_recomputes_every_remaining_tile(image: np.ndarray) -> None:
    inner = small_compact()
    model = OutOfMemoryAbove(inner, limit=40)
    progress: list[tuple[int, int]] = []
    tiler = Tiler(model, 4, torch.device("cpu"), TilerOptions(tile=48, overlap=16, batch=2))
    tiled, report = tiler.run(image, progress=lambda stage, done, total: progress.append((done, total)))
    assert report.oom_retries == 1 and model.refused == 1  # later tiles went straight to the smaller size
    assert report.tile == 24
    # Every output pixel is real model output: the result still matches the whole-image run.
    assert np.abs(tiled - whole_image(inner, image)).max() < SEAM_TOLERANCE
    assert progress[-1][0] == progress[-1][1] == report.grid[0] * report.grid[1]


def test_out_of_memory_at_the_smallest_tile_is_a_clear_failure(image: np.ndarray) -> None:
    model = OutOfMemoryAbove(small_compact(), limit=4)
    tiler = Tiler(model, 4, torch.device("cpu"), TilerOptions(tile=32, overlap=8))
    with pytest.raises(JobFailure, match="Out of GPU memory"):
        tiler.run(image)


HALF_CALLS: list[int] = []  # module-level: the tiler runs a deep copy of the model in fp16


class NaNInHalfPrecision(torch.nn.Module):
    """Returns NaN whenever it runs in fp16 (like an overflow), real output in fp32."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float16:
            HALF_CALLS.append(x.shape[0])
            return torch.full((x.shape[0], 3, x.shape[2] * 4, x.shape[3] * 4), float("nan"), dtype=x.dtype)
        return self.inner(x)


def test_nan_in_fp16_reruns_the_batch_in_fp32(image: np.ndarray) -> None:
    inner = small_compact()
    model = NaNInHalfPrecision(inner)
    HALF_CALLS.clear()
    tiler = Tiler(model, 4, torch.device("cpu"), TilerOptions(tile=32, overlap=16, batch=2, precision="fp16"))
    tiled, report = tiler.run(image)
    assert np.isfinite(tiled).all()
    fp16_batches = -(-report.grid[0] * report.grid[1] // 2)
    assert len(HALF_CALLS) == fp16_batches and report.fp32_retries == fp16_batches  # each redone once
    assert np.abs(tiled - whole_image(inner, image)).max() < SEAM_TOLERANCE


def test_nan_even_in_fp32_fails_clearly(image: np.ndarray) -> None:
    class AlwaysNaN(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.full((x.shape[0], 3, x.shape[2] * 4, x.shape[3] * 4), float("nan"))

    with pytest.raises(JobFailure, match="NaN"):
        Tiler(AlwaysNaN(), 4, torch.device("cpu"), TilerOptions(tile=32)).run(image)


def test_progress_counts_every_tile_once(image: np.ndarray) -> None:
    seen: list[tuple[str, int, int]] = []
    tiler = Tiler(small_compact(), 4, torch.device("cpu"), TilerOptions(tile=16, overlap=8, batch=3))
    _, report = tiler.run(image, progress=lambda stage, done, total: seen.append((stage, done, total)))
    total = report.grid[0] * report.grid[1]
    assert [done for _, done, _ in seen] == list(range(1, total + 1))
    assert {stage for stage, _, _ in seen} == {"upscale"} and {t for _, _, t in seen} == {total}


@pytest.fixture
def cuda_branch_on_the_cpu(monkeypatch):
    """Run the tiler's CUDA branch (staging double buffers, copy stream, deferred finite flags) on the CPU.

    CUDA's stream, event and pinned-memory calls are replaced by no-ops; CPU work is synchronous, so
    any wrong slot, slice or flag bookkeeping in that branch shows up as a wrong output here.
    """
    import contextlib

    from jobs import tiler as tiler_module

    class NoStream:
        def wait_stream(self, other: object) -> None: ...

    class NoEvent:
        def record(self, stream: object = None) -> None: ...

        def synchronize(self) -> None: ...

    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: NoStream())
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "Event", NoEvent)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    buffers: dict = {}

    def unpinned(self, role, shape, dtype, keep=True):
        if not keep:
            return [torch.full(shape, float("nan")).to(dtype) for _ in range(2)]
        return buffers.setdefault((role, shape), [torch.full(shape, float("nan")).to(dtype) for _ in range(2)])

    monkeypatch.setattr(Tiler, "pinned_buffers", unpinned)
    original_init = tiler_module._Run.__init__

    def as_if_cuda(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.cuda = True
        self.tiler._copy_stream = NoStream()

    monkeypatch.setattr(tiler_module._Run, "__init__", as_if_cuda)
    return buffers


@pytest.mark.parametrize(("tile", "batch"), [(24, 1), (24, 2), (16, 5)])
def test_cuda_branch_bookkeeping_gives_the_same_output(cuda_branch_on_the_cpu, tile, batch, image) -> None:
    model = small_compact()
    options = TilerOptions(tile=tile, overlap=16, batch=batch)
    tiled, report = Tiler(model, 4, torch.device("cpu"), options).run(image)
    assert report.batches > 2  # both staging slots were used, and reused
    assert {role for role, _ in cuda_branch_on_the_cpu} == {"in", "out", "finite"}  # the CUDA branch ran
    assert np.abs(tiled - whole_image(model, image)).max() < SEAM_TOLERANCE
    again, _ = Tiler(model, 4, torch.device("cpu"), options).run(image)  # reused staging buffers
    np.testing.assert_array_equal(again, tiled)


def test_cuda_branch_recovers_from_nan_and_out_of_memory(cuda_branch_on_the_cpu, image) -> None:
    inner = small_compact()
    expected = whole_image(inner, image)
    nan_model = NaNInHalfPrecision(inner)
    options = TilerOptions(tile=24, overlap=16, batch=2, precision="fp16")
    tiled, report = Tiler(nan_model, 4, torch.device("cpu"), options).run(image)
    assert report.fp32_retries > 0 and np.abs(tiled - expected).max() < SEAM_TOLERANCE
    oom_model = OutOfMemoryAbove(inner, limit=40)
    tiled, report = Tiler(oom_model, 4, torch.device("cpu"), TilerOptions(tile=48, overlap=16, batch=2)).run(image)
    assert report.oom_retries == 1 and np.abs(tiled - expected).max() < SEAM_TOLERANCE
