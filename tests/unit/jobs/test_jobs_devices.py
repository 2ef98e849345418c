"""The device rule every torch operation shares: auto picks a GPU when there is one; asking for a
missing GPU is an error, never a silent move to the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from aiorch.settings import Settings
from jobs import cli
from jobs.contract import JobFailure
from jobs.devices import GPU_UNAVAILABLE, describe_device, pick_device, require_job_device
from tests.unit.jobs.job_images import astronaut, encoded


@pytest.mark.parametrize("requested", [None, "auto", "AUTO", "cpu"])
def test_auto_and_cpu(requested: str | None) -> None:
    expected = "cuda" if torch.cuda.is_available() and requested != "cpu" else "cpu"
    assert pick_device(requested).type == expected


def test_cpu_is_described_plainly() -> None:
    assert describe_device(torch.device("cpu")) == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
@pytest.mark.parametrize("requested", ["cuda", "cuda:0"])
def test_a_missing_gpu_is_a_clear_error(requested: str) -> None:
    with pytest.raises(JobFailure, match="no CUDA GPU"):
        pick_device(requested)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_gpu_is_described_with_its_name() -> None:
    described = describe_device(pick_device("cuda"))
    assert described.startswith("cuda:0 (") and torch.cuda.get_device_name(0) in described


def test_an_unknown_device_is_refused() -> None:
    with pytest.raises(JobFailure, match="Unknown device 'tpu'"):
        pick_device("tpu")


# --- A job in AWS requires the GPU (AIORCH_JOB_DEVICE=cuda from the job definition) ---


@pytest.mark.parametrize("device", ["auto", "cpu"])
def test_auto_and_cpu_need_no_gpu(device: str) -> None:
    require_job_device(device)  # must not raise on any machine


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_required_gpu_that_is_missing_fails_with_the_driver_hint() -> None:
    with pytest.raises(JobFailure) as caught:
        require_job_device("cuda")
    assert caught.value.type == GPU_UNAVAILABLE
    message = caught.value.message
    assert "no CUDA GPU" in message
    if torch.version.cuda:  # a CUDA build on a host without a usable driver: name the mismatch
        assert f"built for CUDA {torch.version.cuda}" in message and "driver" in message
    else:
        assert "CPU-only" in message


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_job_that_requires_the_gpu_fails_at_once_with_a_clear_error_json(tmp_path: Path, settings: Settings) -> None:
    source = tmp_path / "photo.png"
    source.write_bytes(encoded(astronaut(32)))
    out = tmp_path / "out"
    cuda_settings = settings.model_copy(update={"job_device": "cuda"})

    code = cli.main(
        ["denoise", "--input", source.as_uri(), "--output", out.as_uri() + "/", "--options", '{"method": "tv"}'],
        settings=cuda_settings,
    )

    assert code != 0
    error = json.loads((out / "error.json").read_text())
    assert error["type"] == GPU_UNAVAILABLE
    assert "no CUDA GPU" in error["message"]
    assert "driver" in error["message"] or "CPU-only" in error["message"]
    # At once: before any work, so no result, no metadata and no progress past the start.
    assert not (out / "metadata.json").exists() and not list(out.glob("result.*"))


def test_job_device_setting_refuses_unknown_values() -> None:
    with pytest.raises(ValueError, match="job_device"):
        Settings(job_device="gpu")
