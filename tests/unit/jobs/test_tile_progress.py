"""Progress inside long tiles: progress.json moves during a tile, estimated from the measured
rate, named as an estimate, never backwards and never past the tile until it ends."""

from __future__ import annotations

import time

import numpy as np
import torch

from jobs.tiler import TileProgressEstimate, Tiler, TilerOptions

TILE_S = 0.8  # the model's time per tile


class SlowIdentity(torch.nn.Module):
    """Sleeps per forward pass: a tile long enough for the estimate to move inside it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(TILE_S)
        return x.clone()


def _run(tiler: Tiler, image: np.ndarray) -> list[tuple[str, int, int]]:
    seen: list[tuple[str, int, int]] = []
    tiler.run(image, progress=lambda stage, done, total: seen.append((stage, done, total)), stage="denoising")
    return seen


def _inside_a_tile(seen: list[tuple[str, int, int]], tile: int) -> list[int]:
    """The updates that fell strictly inside tile number ``tile`` (0-based)."""
    steps = TileProgressEstimate.STEPS
    return [done for _, done, _ in seen if tile * steps < done < (tile + 1) * steps]


def test_progress_moves_inside_long_tiles_from_the_measured_rate() -> None:
    image = np.random.default_rng(0).random((16, 32, 3), dtype=np.float32)  # two tiles of 16
    options = TilerOptions(tile=16, overlap=0, channels_last=False, estimate_progress_s=0.05)
    tiler = Tiler(SlowIdentity(), 1, torch.device("cpu"), options)

    first = _run(tiler, image)
    assert {stage for stage, _, _ in first} == {"denoising (estimated within tiles)"}
    assert {total for _, _, total in first} == {200}  # two tiles, in hundredths
    dones = [done for _, done, _ in first]
    assert dones == sorted(dones) and len(set(dones)) == len(dones)  # never backwards, never repeated
    assert dones[0] == 0 and dones[-1] == 200 and 100 in dones  # each tile's end is exact
    # A fresh tiler knows no rate during its first tile; the second tile moves at the first one's rate.
    assert _inside_a_tile(first, 0) == []
    assert _inside_a_tile(first, 1), first

    # The next image (as in a warm worker) uses the rate measured on this one from its first tile on.
    assert tiler.seconds_per_pixel is not None and tiler.seconds_per_pixel > 0
    second = _run(tiler, image)
    assert _inside_a_tile(second, 0) and _inside_a_tile(second, 1), second


def test_the_estimate_stops_short_of_the_tile_s_end_and_jumps_only_when_it_ends() -> None:
    reported: list[int] = []
    now = [0.0]
    estimate = TileProgressEstimate(
        lambda stage, done, total: reported.append(done), "upscale", tiles=2, tile_pixels=100,
        seconds_per_pixel=0.01, interval_s=60, clock=lambda: now[0],
    )  # fmt: skip
    estimate.start()
    try:
        now[0] = 0.5  # half of the 1 s a tile takes at 0.01 s per pixel
        estimate.tick()
        now[0] = 5.0  # far longer than expected: held at 99% of the tile
        estimate.tick()
        estimate("upscale", 1, 2)  # the tile really ended
        estimate.tick()  # no time passed inside the second tile yet
    finally:
        estimate.stop()
    assert reported == [0, 50, 99, 100]
