"""The device rule every torch operation shares: auto picks a GPU when there is one; asking for a
missing GPU is an error, never a silent move to the CPU."""

from __future__ import annotations

import pytest
import torch

from jobs.contract import JobFailure
from jobs.devices import describe_device, pick_device


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
