"""A seeded dataset of execution rows, written with write_row into a local storage directory."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from aiorch.analytics.records import AnalyticsRow, user_hash, write_row
from aiorch.storage import LocalStorage

OPERATIONS = {
    "upscale": ["RRDBNet_x4plus", "SRVGGNetCompact_x4"],
    "denoise": ["DRUNet", "fallback: bm3d"],
    "inpaint": ["LaMa", "fallback: opencv-telea"],
}
DEVICES = ["cuda:0", "cpu"]
STATUSES = ["SUCCEEDED"] * 12 + ["FAILED"] * 4 + ["TIMED_OUT", "ABORTED", "INTERRUPTED"]
ERRORS = ["OutOfMemory", "BadImage", "ModelLoadError", "States.Timeout", "Interrupted", "Spot.HostTerminated"]


def generate_rows(n: int, seed: int) -> list[AnalyticsRow]:
    rng = random.Random(seed)
    # Six days back, so every row falls inside the named queries' 30-day window on any day the suite runs.
    start = (datetime.now(UTC) - timedelta(days=6)).replace(hour=20, minute=0, second=0, microsecond=0)
    rows = []
    for i in range(n):
        operation = rng.choice(list(OPERATIONS))
        status = rng.choice(STATUSES)
        device = rng.choice(DEVICES) if status == "SUCCEEDED" or rng.random() < 0.7 else None
        started = start + timedelta(seconds=rng.randrange(0, 5 * 86400), microseconds=rng.randrange(1_000_000))
        width, height = rng.randrange(64, 4000), rng.randrange(64, 3000)
        job_ms = rng.randrange(200, 120_000) if status == "SUCCEEDED" else rng.choice([None, rng.randrange(0, 9000)])
        total_ms = (job_ms or 0) + rng.randrange(300, 20_000)
        never_started = status == "INTERRUPTED" and rng.random() < 0.5
        rows.append(
            AnalyticsRow(
                execution_id=f"01TEST{i:05d}",
                user_hash=user_hash(f"user-{rng.randrange(25)}") if rng.random() < 0.95 else None,
                operation=operation,
                model=rng.choice(OPERATIONS[operation]),
                weights_id=None,
                device=device,
                precision=rng.choice(["fp16", "fp32"]) if device else None,
                input_width=width if rng.random() < 0.97 else None,
                input_height=height,
                input_bytes=rng.randrange(10_000, 50_000_000),
                output_width=width * 4 if operation == "upscale" else width,
                output_height=height * 4 if operation == "upscale" else height,
                output_bytes=rng.randrange(10_000, 200_000_000) if status == "SUCCEEDED" else None,
                tiles=rng.randrange(1, 64),
                validate_ms=rng.randrange(5, 500),
                queue_wait_ms=rng.randrange(0, 60_000),
                job_ms=job_ms,
                model_ms=None if job_ms is None else job_ms * rng.randrange(1, 100) // 100,
                stage_ms_json=json.dumps({"load": rng.randrange(10, 900)}),
                total_ms=total_ms,
                status=status,
                error_type=None if status == "SUCCEEDED" else rng.choice([*ERRORS, None]),
                estimated_cost_usd=None if job_ms is None else job_ms / 3.6e6 * (1.0 if device != "cpu" else 0.1),
                # A run's recorded cost: at a g5.xlarge's price per second, free on the CPU, or none recorded.
                cost_usd=None
                if job_ms is None or rng.random() < 0.1
                else job_ms / 1000 * (1.006 / 3600 if device != "cpu" else 0.0),
                started_at=None if never_started else started,
                finished_at=started + timedelta(milliseconds=total_ms),
            )
        )
    return rows


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """(storage root, rows): 400 rows over five days, every status, some missing values."""
    root = tmp_path_factory.mktemp("analytics-storage")
    storage = LocalStorage(root)
    rows = generate_rows(400, seed=20260226)
    for row in rows:
        write_row(storage, row)
    return root, rows
