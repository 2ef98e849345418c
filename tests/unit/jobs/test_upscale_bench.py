"""The benchmark runs on the CPU from its documented command and writes what it promises."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from spandrel.architectures.Compact import Compact

from bench import baselines
from bench.__main__ import main


def test_upstream_style_tiling_matches_whole_image_inside_tiles_and_shows_seams() -> None:
    torch.manual_seed(0)
    model = Compact(num_feat=8, num_conv=2, upscale=4).eval()
    image = np.random.default_rng(0).random((40, 40, 3), dtype=np.float32)
    whole = baselines.whole_image(model, image, torch.device("cpu"))
    one_tile = baselines.upstream_tiled(model, image, 4, torch.device("cpu"), tile=64, pad=10)
    np.testing.assert_allclose(one_tile, whole, atol=1e-5)
    tiled = baselines.upstream_tiled(model, image, 4, torch.device("cpu"), tile=16, pad=2)
    assert tiled.shape == whole.shape
    assert np.abs(tiled - whole).max() > 1e-3  # a 2 px pad is less than this model's reach: seams


def test_cpu_benchmark_writes_json_with_throughput_and_the_ratio(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    code = main(["--device", "cpu", "--size", "16", "--cases", "tiled,ours", "--repeat", "1", "--warmup", "0",
                 "--json", str(out)])  # fmt: skip
    assert code == 0
    results = json.loads(out.read_text())
    cases = {case["case"]: case for case in results["cases"]}
    assert set(cases) == {"upstream-style tiled 256/pad 10", "ours default"}
    ours = cases["ours default"]
    assert ours["megapixels"] == 16 * 16 / 1e6 and ours["megapixels_per_s"] > 0
    assert ours["speedup_vs_upstream_tiled"] > 0 and ours["peak_gpu_mb"] is None
    assert ours["precision"] == "fp32" and results["model"]["name"] == "realesrgan-x4plus"
