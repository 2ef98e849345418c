"""A job's metadata.json: the same keys for every job, what the operation knows, the input and output,
and the run's own facts (thumbnail, warm worker, timings_s, cost)."""

from __future__ import annotations

import os
from typing import Any

from aiorch.pricing import job_price, run_cost
from aiorch.settings import Settings
from jobs import imageio
from jobs.contract import OperationOutput
from jobs.timing import JobClock


def build_metadata(
    job: str,
    result: OperationOutput,
    decoded: imageio.DecodedImage,
    data: bytes,
    ext: str,
    options: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    """metadata.json with the same keys for every job; the operation fills what it knows."""
    metadata: dict[str, Any] = {
        "operation": job,
        "model": None,
        "weights": None,
        "weights_sha256": None,
        "fallback": False,
        "device": None,
        "precision": None,
        "tile": None,
        "tiles": None,
    }
    metadata.update({k: v for k, v in result.metadata.items() if k != "timings_s"})
    metadata["operation"] = job
    metadata["options"] = options
    metadata["input"] = {
        "width": decoded.width,
        "height": decoded.height,
        "bytes": decoded.bytes,
        "format": decoded.format,
        "mode": decoded.source_mode,
        "alpha": decoded.alpha is not None,
        "icc_profile": decoded.icc_profile is not None,
    }
    metadata["output"] = {
        "width": int(result.image.shape[1]),
        "height": int(result.image.shape[0]),
        "bytes": len(data),
        "format": {"jpg": "jpeg"}.get(ext, ext),
    }
    metadata["notes"] = [*decoded.notes, *metadata.get("notes", []), *notes]
    return metadata


def add_run_facts(
    metadata: dict[str, Any],
    *,
    thumbnail: dict[str, Any] | None,
    result: OperationOutput,
    settings: Settings,
    clock: JobClock,
) -> None:
    """The run's own facts, once its files are written: the thumbnail's entry, the warm worker that ran
    it (if any), its timings_s (their total ends now) and its cost."""
    metadata["thumbnail"] = thumbnail
    metadata["worker"] = (
        None
        if settings.job_worker_startup_s is None
        else {"pid": os.getpid(), "startup_s": settings.job_worker_startup_s}
    )
    metadata["timings_s"] = clock.timings(result.metadata.get("timings_s", {}))
    # Its price: the device seconds it held (its timings' total) at the price of the machine it ran on.
    metadata["cost"] = run_cost(job_price(settings), metadata["timings_s"]["total"]).model_dump()
