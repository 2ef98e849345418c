"""One analytics row per execution, written as one Parquet file under the Hive partitions.

``record_result`` / ``record_failure`` / the status-change handler build an ``AnalyticsRow``
and call ``write_row``. Light on purpose (pydantic + pyarrow): it runs in a Lambda.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING

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
