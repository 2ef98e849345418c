"""``python -m jobs upscale`` end to end in its own process: real weights, files out, clear failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jobs.weights import REGISTRY

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("aiorch-data")  # one weights cache for the module's jobs
    return {**os.environ, "AIORCH_DATA_DIR": str(data)}


def upscale_job(environment: dict[str, str], source: Path, out: Path, options: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable, "-m", "jobs", "upscale",
            "--input", source.as_uri(), "--output", out.as_uri() + "/", "--options", json.dumps(options),
        ],
        capture_output=True, text=True, timeout=300, env=environment, check=False,
    )  # fmt: skip


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    from skimage import data

    path = tmp_path / "photo.png"
    Image.fromarray(data.astronaut()[180:204, 200:232]).save(path)  # 32 x 24
    return path


def test_x4plus_job_writes_a_4x_result_with_metadata_and_progress(environment, photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "result"
    done = upscale_job(environment, photo, out, {"device": "cpu"})
    assert done.returncode == 0, done.stderr
    result = Image.open(next(out.glob("result.*")))
    assert result.size == (128, 96)
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["model"] == "realesrgan-x4plus"
    assert metadata["weights_sha256"] == REGISTRY["realesrgan-x4plus"].sha256
    assert metadata["fallback"] is False and metadata["device"] == "cpu"
    progress = json.loads((out / "progress.json").read_text())
    assert progress["done"] == progress["total"]
    assert np.asarray(result).std() > 10  # an image, not a blank


def test_outscale_and_a_compact_model(environment, photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "result"
    done = upscale_job(environment, photo, out, {"device": "cpu", "model": "realesr-animevideov3", "outscale": 2})
    assert done.returncode == 0, done.stderr
    assert Image.open(next(out.glob("result.*"))).size == (64, 48)


def test_an_unknown_model_fails_with_error_json(environment, photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "result"
    done = upscale_job(environment, photo, out, {"model": "realesrgan-x9000"})
    assert done.returncode != 0
    error = json.loads((out / "error.json").read_text())
    assert "realesrgan-x9000" in error["message"] and "realesrgan-x4plus" in error["message"]
