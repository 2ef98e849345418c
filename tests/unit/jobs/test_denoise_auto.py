"""Denoise that finishes: without DRUNet, auto picks the best classical method expected to finish within
AUTO_BUDGET_S at this image's size (colour BM3D, bm3d-fast, up to about 1.3 megapixels on a CPU, then
wavelet); DRUNet in the weights folder (as `aiorch weights pull drunet` puts it) is the default when there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jobs import denoise
from tests.unit.jobs.job_images import astronaut_crop


def no_progress(*_: object) -> None:
    pass


def test_the_budget_picks_by_size() -> None:
    assert denoise.classical_for(256 * 256) == "bm3d-fast"
    assert denoise.classical_for(1024 * 1024) == "bm3d-fast"  # the goal: the default within 60 s at 1024²
    assert denoise.classical_for(4000 * 3000) == "wavelet"
    assert denoise.classical_for(10**9) == denoise.AUTO_ORDER[-1]  # nothing fits: the fastest
    for pixels in (256 * 256, 1024 * 1024, 4000 * 3000):  # the choice is expected to finish in the budget
        method = denoise.classical_for(pixels)
        assert denoise.CPU_S_PER_MP[method] * pixels / 1e6 <= denoise.AUTO_BUDGET_S
    # On a GPU TV and wavelet run there: past what BM3D affords, the better of them.
    assert denoise.classical_for(4000 * 3000, "cuda") == next(m for m in denoise.AUTO_ORDER if not m.startswith("bm3d"))


def test_auto_names_its_choice_in_the_notes() -> None:
    output = denoise.run(astronaut_crop(32), {"sigma": 25}, no_progress)
    assert output.metadata["model"] == "bm3d-fast"
    assert output.metadata["notes"] == [
        "auto chose bm3d-fast: DRUNet's weights are not installed, and bm3d-fast is the best classical method "
        "expected to "
        f"finish within {denoise.AUTO_BUDGET_S:.0f} s on 0.00 MP here"
    ]
    chosen = denoise.run(astronaut_crop(32), {"sigma": 25, "method": "tv"}, no_progress)
    assert "notes" not in chosen.metadata


def test_bm3d_fast_denoises_a_colour_photo() -> None:
    clean = astronaut_crop(96)
    rng = np.random.default_rng(0)
    degraded = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32)
    output = denoise.run(degraded, {"method": "bm3d-fast", "sigma": 25}, no_progress)

    def psnr(x: np.ndarray) -> float:
        return float(10 * np.log10(1 / np.mean((x.astype(np.float64) - clean) ** 2)))

    assert psnr(output.image) - psnr(degraded) > 6.0
    assert output.metadata["weights"] == "fallback: bm3d-fast" and output.image.shape == clean.shape


def test_drunet_in_the_weights_folder_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from spandrel.architectures.DRUNet import DRUNet

    from aiorch.settings import get_settings

    folder = tmp_path / "models"
    folder.mkdir()
    torch.manual_seed(0)
    torch.save(DRUNet(in_nc=4, out_nc=3, nc=[8, 16, 32, 64], nb=2).state_dict(), folder / "drunet_color.pth")
    monkeypatch.setenv("AIORCH_WEIGHTS_DIR", str(folder))
    get_settings.cache_clear()
    output = denoise.run(astronaut_crop(16), {"sigma": 10}, no_progress)
    assert output.metadata["model"] == "DRUNet"
    assert output.metadata["weights"] == str(folder / "drunet_color.pth")


def test_the_bench_prints_seconds_and_psnr_per_method(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bench.__main__ import main

    assert main(["denoise", "--size", "64", "--methods", "wavelet,auto", "--json", str(tmp_path / "d.json")]) == 0
    rows = json.loads((tmp_path / "d.json").read_text())["rows"]
    assert [(r["method"], r["ran"]) for r in rows] == [("wavelet", "wavelet"), ("auto", "bm3d-fast")]
    assert all(r["psnr_db"] > 22 and r["seconds"] > 0 for r in rows)
    assert "PSNR dB" in capsys.readouterr().out
