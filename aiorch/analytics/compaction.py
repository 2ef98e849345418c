"""Compaction: a day's analytics rows in one Parquet file instead of one file per execution.

The writers (RecordResult, RecordFailure, the status-change handler) keep writing one small
file per execution, named by it, so writing an execution again replaces its row. Left alone,
a day at 1,000 images a minute holds 1.4 million objects, and every query lists and opens
each one (Athena per S3 object, the local runner per file). ``compact`` folds a day folder's
small files, and any earlier compacted file, into one new ``compacted-<ulid>.parquet``, then
deletes what it folded in. Each compacted row carries ``record_id`` (the small file's name:
the execution id, or ``<execution id>-<image>`` for a batch image), a column the table does
not declare (Athena and the local runner read Parquet by column name and skip it), so a row
written again after its day was compacted replaces the compacted one at the next pass:
later files win (small files over compacted ones, newer compacted files over older).

Crash-safe by convergence: the new file is written before anything is deleted, and a pass
over leftovers (two compacted files, small files already folded in) gives the same rows.
Between the write and the deletes a reader may count a row twice; the local runner compacts
under a lock before it reads, so only Athena can see that window, for seconds.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from aiorch.analytics.schema import TableSchema, load_schema
from aiorch.ids import new_id

if TYPE_CHECKING:
    from aiorch.storage import Storage

COMPACTED_PREFIX = "compacted-"
RECORD_ID = "record_id"


@dataclass(frozen=True)
class Compacted:
    folders: int = 0
    files_in: int = 0
    rows_out: int = 0

    def __add__(self, other: Compacted) -> Compacted:
        return Compacted(self.folders + other.folders, self.files_in + other.files_in, self.rows_out + other.rows_out)


def _is_compacted(key: str) -> bool:
    return posixpath.basename(key).startswith(COMPACTED_PREFIX)


def _conformed(table: pa.Table, schema: pa.Schema, record_ids: pa.Array) -> pa.Table:
    """``table`` with exactly the schema's columns (a file of an older schema lacks some: nulls)."""
    arrays = [
        table[field.name].cast(field.type) if field.name in table.column_names else pa.nulls(len(table), field.type)
        for field in schema
    ]
    return pa.Table.from_arrays([*arrays, record_ids], schema=schema.append(pa.field(RECORD_ID, pa.string())))


def compact_folder(storage: Storage, keys: Iterable[str], schema: TableSchema | None = None) -> Compacted:
    """Fold the Parquet files ``keys`` (all in one partition folder) into one compacted file."""
    arrow_schema = (schema or load_schema()).arrow_schema()
    keys = sorted(k for k in keys if k.endswith(".parquet"))
    compacted = sorted(k for k in keys if _is_compacted(k))  # ULID names: oldest first
    small = [k for k in keys if not _is_compacted(k)]
    if not small and len(compacted) <= 1:
        return Compacted()
    tables = []
    for key in compacted:
        table = pq.read_table(io.BytesIO(storage.get_bytes(key)))
        tables.append(_conformed(table, arrow_schema, table[RECORD_ID].combine_chunks()))
    for key in small:
        table = pq.read_table(io.BytesIO(storage.get_bytes(key)))
        name = posixpath.basename(key).removesuffix(".parquet")
        tables.append(_conformed(table, arrow_schema, pa.array([name] * len(table), pa.string())))
    combined = pa.concat_tables(tables)
    # The last row of each record wins: files were read oldest first.
    last = {record_id: i for i, record_id in enumerate(combined[RECORD_ID].to_pylist())}
    merged = combined.take(pa.array(sorted(last.values()), pa.int64()))
    buffer = io.BytesIO()
    pq.write_table(merged, buffer, compression="snappy")
    folder = posixpath.dirname(keys[0])
    storage.put_bytes(f"{folder}/{COMPACTED_PREFIX}{new_id()}.parquet", buffer.getvalue(),
                      "application/vnd.apache.parquet")  # fmt: skip
    for key in keys:  # only after the new file is whole
        storage.delete(key)
    return Compacted(folders=1, files_in=len(keys), rows_out=len(merged))


def compact(storage: Storage, prefixes: Iterable[str] | None = None, schema: TableSchema | None = None) -> Compacted:
    """Compact every partition folder under ``prefixes`` (default: the whole results table)."""
    schema = schema or load_schema()
    folders: dict[str, list[str]] = {}
    for prefix in prefixes if prefixes is not None else [schema.location_prefix]:
        for key in storage.list(prefix):
            if key.endswith(".parquet"):
                folders.setdefault(posixpath.dirname(key), []).append(key)
    done = Compacted()
    for folder in sorted(folders):
        done += compact_folder(storage, folders[folder], schema)
    return done


def day_prefix(schema: TableSchema, day: date) -> str:
    """The partition folder of a UTC date (``analytics/results/year=…/month=…/day=…/``)."""
    return f"{schema.location_prefix}year={day:%Y}/month={day:%m}/day={day:%d}/"


# Late rows reach a closed day for as long as a failed status-change event can be redriven
# from its dead-letter queue (14 days' retention): look back that far, plus a day.
LOOKBACK_DAYS = 15


def compact_closed_days(storage: Storage, today: date, schema: TableSchema | None = None) -> Compacted:
    """The scheduled pass in AWS: compact the days before ``today`` (UTC), back ``LOOKBACK_DAYS``.

    Today's folder is left to its small files while it still takes writes: compacting it on every
    pass would rewrite the whole day each time. Listing costs one request per day folder.
    """
    schema = schema or load_schema()
    days = [today - timedelta(days=n) for n in range(1, LOOKBACK_DAYS + 1)]
    return compact(storage, [day_prefix(schema, d) for d in days], schema)
