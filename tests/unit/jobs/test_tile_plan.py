"""Tiles sized to the device: the plan arithmetic (pure functions of jobs/tiler.py)."""

from __future__ import annotations

import pytest

from jobs.tiler import GPU_MEMORY_GOAL, MIN_TILE, X4PLUS_BYTES_PER_PIXEL, plan_tile, tile_overhead

GB = 1024**3


def test_an_image_that_fits_half_the_jobs_share_runs_in_one_tile() -> None:
    # 600x400 photo, 16 GB free, 2 slots: 4 GB per job; x4plus needs 12 KB x 240,000 px = 2.9 GB: one tile.
    tile = plan_tile(400, 600, overlap=32, bytes_per_pixel=X4PLUS_BYTES_PER_PIXEL, available_bytes=16 * GB, slots=2)
    assert tile == 600
    assert tile_overhead(400, 600, tile, 32) == 1.0


def test_the_budget_is_the_jobs_share_halved_and_bounded_by_the_goal() -> None:
    per_pixel = 1000.0
    tile = plan_tile(10_000, 10_000, overlap=0, bytes_per_pixel=per_pixel, available_bytes=8_000_000, slots=2)
    assert tile * tile <= 8_000_000 / 2 / 2 / per_pixel < (tile + 1) ** 2  # 2 MB -> 2000 px -> 44 px a side
    goal = plan_tile(10_000, 10_000, overlap=0, bytes_per_pixel=per_pixel, available_bytes=80 * GB, goal_bytes=10**6)
    assert goal * goal <= 1000 < (goal + 1) ** 2
    # A tile grows by up to the overlap, so the planned side leaves room for it.
    grown = plan_tile(10_000, 10_000, overlap=32, bytes_per_pixel=1.0, available_bytes=2 * 10**6)
    assert (grown + 32) ** 2 <= 10**6


def test_never_below_the_minimum_tile() -> None:
    assert plan_tile(4000, 4000, overlap=32, bytes_per_pixel=X4PLUS_BYTES_PER_PIXEL, available_bytes=1) == MIN_TILE


# From 16 GB free with 2 slots (2 GB of tile per job, 432 px a side for x4plus). With 8 GB free a 4 MP
# photo needs 6x6 tiles of 360 px: 1.17x; the overlap (32 px, for seamless blending) is the floor there.
@pytest.mark.parametrize("free_gb", [16, 32])
@pytest.mark.parametrize("size", [(400, 600), (1000, 1000), (1500, 2000), (2000, 2000), (1200, 3333)])
def test_cpu_overlap_overhead_stays_under_15_percent_up_to_4_megapixels(free_gb: int, size: tuple[int, int]) -> None:
    height, width = size
    tile = plan_tile(
        height, width, overlap=32, bytes_per_pixel=X4PLUS_BYTES_PER_PIXEL, available_bytes=free_gb * GB, slots=2
    )
    assert tile_overhead(height, width, tile, 32) < 1.15


def test_the_old_fixed_128_px_cpu_tile_cost_half_again_the_pixels() -> None:
    # Measured: 600x400 in 128 px tiles with 32 px overlap computes about 1.5x the pixels.
    assert tile_overhead(400, 600, 128, 32) == pytest.approx(1.51, abs=0.02)


def test_on_a_gpu_the_memory_goal_bounds_the_tile() -> None:
    tile = plan_tile(
        4000, 4000, overlap=32, bytes_per_pixel=X4PLUS_BYTES_PER_PIXEL, available_bytes=140 * GB,
        goal_bytes=GPU_MEMORY_GOAL,
    )  # fmt: skip
    assert (tile + 32) ** 2 * X4PLUS_BYTES_PER_PIXEL <= GPU_MEMORY_GOAL


def test_the_report_counts_pixels_computed_over_kept_and_tile_0_sizes_to_the_device() -> None:
    import numpy as np
    import torch

    from jobs.tiler import Tiler, TilerOptions

    image = np.random.default_rng(0).random((40, 50, 3), dtype=np.float32)
    upsample = torch.nn.Upsample(scale_factor=2, mode="nearest")
    tiled = Tiler(upsample, 2, torch.device("cpu"), TilerOptions(tile=16, overlap=4))
    out, report = tiled.run(image)
    assert out.shape == (80, 100, 3)
    assert report.kept_pixels == 2000
    assert report.overhead == pytest.approx(tile_overhead(40, 50, 16, 4), abs=1e-4) and report.overhead > 1.1
    auto = Tiler(upsample, 2, torch.device("cpu"), TilerOptions(tile=0, overlap=4, bytes_per_pixel=1000))
    _, auto_report = auto.run(image)  # 2000 px x 1 KB fits any machine running this test: one tile
    assert (auto_report.grid, auto_report.overhead) == ((1, 1), 1.0)
