"""One analytics row per execution, written as one Parquet file under the Hive partitions.

``record_result`` / ``record_failure`` / the status-change handler build an ``AnalyticsRow``
and call ``write_row``. Light on purpose (pydantic + pyarrow): it runs in a Lambda.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, field_validator

from aiorch import keys
from aiorch.analytics.schema import load_schema

if TYPE_CHECKING:
    from aiorch.settings import Settings
    from aiorch.storage import Storage


def user_hash(user: str) -> str:
    """sha256 of the user id, lower-case hex: rows never carry the id itself."""
    return hashlib.sha256(user.encode()).hexdigest()


# The parts of a job's metadata timings_s (jobs/timing.py JobClock), summed over jobs into stage_ms_json.
JOB_STAGES = ("startup", "imports", "decode", "load_model", "model", "encode")


def job_times_ms(metadata: dict[str, dict[str, Any]]) -> tuple[int | None, int | None, dict[str, int]]:
    """(job_ms, model_ms, stage_ms) summed over the jobs, from each job's timings_s, explicitly:
    job_ms from its ``total`` (spawn to metadata: what the job's machine time costs), model_ms from its
    ``model`` (the model's work only, for throughput), stage_ms from its parts. A figure no job gave is None.
    """
    totals: list[float] = []
    models: list[float] = []
    stages: dict[str, float] = {}
    for meta in metadata.values():
        timings = meta.get("timings_s") or {}
        if _is_seconds(timings.get("total")):
            totals.append(float(timings["total"]))
        if _is_seconds(timings.get("model")):
            models.append(float(timings["model"]))
        for stage in JOB_STAGES:
            if _is_seconds(timings.get(stage)):
                stages[stage] = stages.get(stage, 0.0) + float(timings[stage])
    return (
        round(sum(totals) * 1000) if totals else None,
        round(sum(models) * 1000) if models else None,
        {stage: round(seconds * 1000) for stage, seconds in stages.items()},
    )


def _is_seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


class RunFacts(BaseModel):
    """What a recorder knows about one ended run (or one image of a batch), from which its row is built."""

    execution_id: str
    user: str
    operation: str
    status: str
    job_kinds: list[str]  # the operation's jobs, in order
    metadata: dict[str, dict[str, Any]]  # each job's metadata.json, by job kind
    started_at: datetime | None
    finished_at: datetime
    error_type: str | None = None
    cost_usd: float | None = None


def row_for(facts: RunFacts, settings: Settings) -> AnalyticsRow:
    """The run's analytics row: sizes from its first job's input and last job's output, the model from
    its last job (its first when the last wrote nothing), times summed over its jobs, the user hashed."""
    first = facts.metadata.get(facts.job_kinds[0], {}) if facts.job_kinds else {}
    last = facts.metadata.get(facts.job_kinds[-1], {}) if facts.job_kinds else {}
    model_meta = last or first
    job_ms, model_ms, stage_ms = job_times_ms(facts.metadata)
    total_ms = round((facts.finished_at - facts.started_at).total_seconds() * 1000) if facts.started_at else None
    inp = first.get("input") or {}
    out = last.get("output") or {}
    device = model_meta.get("device")
    return AnalyticsRow(
        execution_id=facts.execution_id,
        user_hash=user_hash(facts.user),
        operation=facts.operation,
        model=model_meta.get("model"),
        weights_id=model_meta.get("weights"),
        device=device,
        precision=model_meta.get("precision"),
        input_width=inp.get("width"),
        input_height=inp.get("height"),
        input_bytes=inp.get("bytes"),
        output_width=out.get("width"),
        output_height=out.get("height"),
        output_bytes=out.get("bytes"),
        tiles=model_meta.get("tiles"),
        job_ms=job_ms,
        model_ms=model_ms,
        stage_ms_json=json.dumps(stage_ms) if stage_ms else None,
        total_ms=total_ms,
        status=facts.status,
        error_type=facts.error_type,
        estimated_cost_usd=None if job_ms is None else estimate_cost_usd(device, job_ms / 1000, settings),
        cost_usd=facts.cost_usd,
        started_at=facts.started_at,
        finished_at=facts.finished_at,
    )


class AnalyticsRow(BaseModel):
    """One execution, as the ``results`` table holds it (field names = schema.json's columns)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 3
    execution_id: str
    user_hash: str | None = None
    operation: str
    model: str | None = None
    weights_id: str | None = None
    device: str | None = None
    precision: str | None = None
    input_width: int | None = None
    input_height: int | None = None
    input_bytes: int | None = None
    output_width: int | None = None
    output_height: int | None = None
    output_bytes: int | None = None
    tiles: int | None = None
    validate_ms: int | None = None
    queue_wait_ms: int | None = None
    job_ms: int | None = None
    stage_ms_json: str | None = None
    model_ms: int | None = None
    total_ms: int | None = None
    status: str
    error_type: str | None = None
    estimated_cost_usd: float | None = None
    cost_usd: float | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @field_validator("started_at", "finished_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must carry a time zone (UTC); a naive datetime is ambiguous")
        return value.astimezone(UTC)

    @property
    def partition_time(self) -> datetime:
        when = self.started_at or self.finished_at
        if when is None:
            raise ValueError(f"execution {self.execution_id}: a row needs started_at or finished_at")
        return when


def row_to_parquet(row: AnalyticsRow) -> bytes:
    schema = load_schema()
    if row.schema_version != schema.version:
        raise ValueError(f"row has schema_version {row.schema_version}, schema.json is {schema.version}")
    table = pa.Table.from_pylist([row.model_dump()], schema=schema.arrow_schema())
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def write_row(storage: Storage, row: AnalyticsRow, name: str | None = None) -> str:
    """Write the row to ``analytics/results/year=YYYY/month=MM/day=DD/<name>.parquet``.

    One file per execution, named by its id (a batch: one per image, ``<execution_id>-<index>``), so
    writing the same execution again replaces its row instead of adding a second one. Returns the key.
    """
    key = keys.analytics_key(row.partition_time, name=name or row.execution_id)
    storage.put_bytes(key, row_to_parquet(row), "application/vnd.apache.parquet")
    return key


def estimate_cost_usd(device: str | None, job_seconds: float, settings: Settings) -> float:
    """Model job time times the configured hourly price of the device class.

    The prices are settings (``AIORCH_GPU_PRICE_PER_HOUR_USD``, ``AIORCH_CPU_PRICE_PER_HOUR_USD``),
    assumptions to set, not claims about any provider. A job on ``cpu`` costs the CPU price; any
    other or unknown device costs the GPU price, because jobs run on the GPU queue in AWS.
    """
    if job_seconds < 0:
        raise ValueError(f"job_seconds must not be negative, got {job_seconds}")
    is_cpu = device is not None and device.lower().startswith("cpu")
    per_hour = settings.cpu_price_per_hour_usd if is_cpu else settings.gpu_price_per_hour_usd
    return per_hour * job_seconds / 3600.0
