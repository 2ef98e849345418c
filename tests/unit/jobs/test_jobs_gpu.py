"""On a machine with a CUDA GPU: DRUNet and LaMa run there and agree with the CPU (random weights:
the device path is under test, not quality). Skipped where there is no GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from jobs import denoise, inpaint
from jobs.contract import no_progress
from tests.unit.jobs.job_images import astronaut_crop

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_drunet_on_the_gpu_matches_the_cpu(tmp_path: Path) -> None:
    from spandrel.architectures.DRUNet import DRUNet

    torch.manual_seed(0)
    weights = tmp_path / "drunet-random.pth"
    torch.save(DRUNet(in_nc=4, out_nc=3, nc=[16, 32, 64, 128], nb=2).state_dict(), weights)
    image = astronaut_crop(256)[:150, :203]
    options = {"weights": str(weights), "sigma": 15, "tile": 96}
    on_gpu = denoise.run(image, {**options, "device": "cuda"}, no_progress)
    on_cpu = denoise.run(image, {**options, "device": "cpu"}, no_progress)
    assert on_gpu.metadata["device"].startswith("cuda:0 (") and on_gpu.metadata["tiles"] > 1
    assert np.abs(on_gpu.image - on_cpu.image).max() < 1e-3


def test_lama_on_the_gpu_matches_the_cpu(tmp_path: Path) -> None:
    from spandrel.architectures.LaMa import LaMa

    torch.manual_seed(0)
    weights = tmp_path / "lama-random.pth"
    torch.save(LaMa(in_nc=4, out_nc=3).state_dict(), weights)
    image = astronaut_crop(256)[:117, :203]
    mask = np.zeros(image.shape[:2], bool)
    mask[20:40, 30:90] = True
    options = {"weights": str(weights), "context_px": 32}
    on_gpu = inpaint.run(image, {**options, "device": "cuda"}, no_progress, mask=mask)
    on_cpu = inpaint.run(image, {**options, "device": "cpu"}, no_progress, mask=mask)
    assert on_gpu.metadata["device"].startswith("cuda:0 (")
    np.testing.assert_array_equal(on_gpu.image[~mask], image[~mask])
    assert np.abs(on_gpu.image - on_cpu.image).max() < 1e-2
