"""Which torch device a job runs on, and how to name it in metadata.

Shared by every torch-based operation so that "auto" means the same thing
everywhere: the first CUDA GPU when there is one, otherwise the CPU.
torch is imported inside the functions to keep ``python -m jobs --help`` light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.contract import JobFailure

if TYPE_CHECKING:
    import torch

# error.json's type when a required GPU is not usable (RecordFailure shows it to the user).
GPU_UNAVAILABLE = "GpuUnavailable"


def pick_device(requested: str | None) -> torch.device:
    """Return the device to run on.

    ``requested`` is None or "auto" (a GPU when one is usable, else the CPU),
    "cpu", "cuda" or "cuda:N". Asking for a GPU that is not there is an error,
    not a silent move to the CPU.
    """
    import torch

    choice = (requested or "auto").strip().lower()
    if choice == "auto":
        return torch.device("cuda:0") if torch.cuda.is_available() else torch.device("cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda" or choice.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise JobFailure(
                f"Device {requested!r} was asked for, but no CUDA GPU is available here. {_cuda_hint(torch)}",
                GPU_UNAVAILABLE,
            )
        device = torch.device("cuda:0" if choice == "cuda" else choice)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise JobFailure(f"Device {requested!r} was asked for, but only {torch.cuda.device_count()} GPU(s) exist.")
        return device
    raise JobFailure(f"Unknown device {requested!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'.")


def require_job_device(device: str) -> None:
    """Fail the job before any work when its required device (AIORCH_JOB_DEVICE) is not usable.

    "auto" and "cpu" need nothing (and import no torch). "cuda" / "cuda:N" are what AWS Batch sets:
    a GPU host whose NVIDIA driver is older than torch's CUDA build starts torch fine but shows no
    GPU, and without this check the job would run on the host's CPU until its timeout.
    """
    if device.strip().lower() in ("auto", "cpu"):
        return
    pick_device(device)


def _cuda_hint(torch_module: object) -> str:
    """Why a GPU host may show no GPU: the driver/CUDA mismatch the issue's AMI table guards against."""
    built_for = getattr(getattr(torch_module, "version", None), "cuda", None)
    if not built_for:
        return "This torch build has no CUDA support (a CPU-only wheel); the job image needs a CUDA build."
    return (
        f"This torch is built for CUDA {built_for}; if this is a GPU host, its NVIDIA driver is probably "
        f"too old for CUDA {built_for} (CUDA 13 needs driver 580 or newer: the ECS_AL2023_NVIDIA AMI, "
        "see iac/gpu_amis.json), or the container was started without the GPU."
    )


def describe_device(device: torch.device) -> str:
    """A name for metadata: "cpu" or e.g. "cuda:0 (NVIDIA H100 80GB HBM3)"."""
    import torch

    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device.type)
