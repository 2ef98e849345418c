"""The GPU hosts' NVIDIA driver runs the job image's CUDA.

An AMI's driver cannot be emulated: torch on a too-old driver starts but sees no GPU. So the
facts are a table (iac/gpu_amis.json: AMI type -> driver -> newest CUDA it runs; sources in its
comment, AWS Batch "Using a GPU workload AMI",
https://docs.aws.amazon.com/batch/latest/userguide/batch-gpu-ami.html), Terraform's batch module
takes its AMI type from the same file (its terraform test asserts that), and this test holds the
CUDA of the image's one CUDA stack, the torch wheels' (locks/jobs.txt), against the chosen AMI type.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TABLE = json.loads((ROOT / "iac" / "gpu_amis.json").read_text(encoding="utf-8"))
DOCKERFILE = (ROOT / "jobs" / "Dockerfile").read_text(encoding="utf-8")
LOCK = (ROOT / "locks" / "jobs.txt").read_text(encoding="utf-8")


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def torch_wheel_cuda(lock: str) -> tuple[int, ...]:
    """CUDA of the torch build: the CUDA runtime wheel the lock pins beside it; every NVIDIA
    wheel named for a CUDA major (nvidia-*-cu13) must be built for the same major."""
    runtime = re.search(r"^nvidia-cuda-runtime(?:-cu\d+)?==(\d+)\.(\d+)\.", lock, re.MULTILINE)
    assert runtime, "locks/jobs.txt pins no nvidia-cuda-runtime: which CUDA does torch use?"
    major, minor = runtime.groups()
    majors = set(re.findall(r"^nvidia-[a-z0-9-]+-cu(\d+)==", lock, re.MULTILINE))
    assert majors <= {major}, f"CUDA runtime {major}.{minor} but the lock pins NVIDIA wheels for cu{majors}"
    return (int(major), int(minor))


def test_the_image_has_no_second_cuda_stack() -> None:
    assert not re.search(r"^ARG BASE_IMAGE=nvidia/cuda:", DOCKERFILE, re.MULTILINE)


def test_parsers_read_what_the_files_say() -> None:
    assert torch_wheel_cuda("nvidia-cuda-runtime==13.0.96 \\\nnvidia-nccl-cu13==2.30.7 \\\n") == (13, 0)
    with pytest.raises(AssertionError):
        torch_wheel_cuda("nvidia-cuda-runtime==13.0.96 \\\nnvidia-nccl-cu12==2.30.7 \\\n")


def test_the_chosen_ami_type_is_in_the_table() -> None:
    assert TABLE["batch_image_type"] in TABLE["ami_types"]


def test_the_gpu_amis_driver_runs_the_images_cuda() -> None:
    ami = TABLE["batch_image_type"]
    max_cuda = version(TABLE["ami_types"][ami]["max_cuda"])
    driver = TABLE["ami_types"][ami]["nvidia_driver"]
    wheels = torch_wheel_cuda(LOCK)
    assert wheels <= max_cuda, f"{ami} (driver {driver}) runs CUDA <= {max_cuda}; torch is built for CUDA {wheels}"


def test_the_old_al2_ami_would_be_caught() -> None:
    """The check bites: on ECS_AL2_NVIDIA (driver 550) the cu130 torch would see no GPU."""
    old = version(TABLE["ami_types"]["ECS_AL2_NVIDIA"]["max_cuda"])
    assert torch_wheel_cuda(LOCK) > old


def test_terraform_takes_the_ami_type_from_the_table() -> None:
    """The batch module reads this very file (its terraform test checks the value it lands on)."""
    batch = (ROOT / "iac" / "modules" / "batch" / "main.tf").read_text(encoding="utf-8")
    assert 'jsondecode(file("${path.module}/../../gpu_amis.json"))' in batch
    assert re.search(r"image_type\s*=\s*local\.gpu_image_type", batch)
    assert "ECS_AL2_NVIDIA" not in re.sub(r"#.*", "", batch)
