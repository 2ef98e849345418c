"""Answer Athena SQL locally: DuckDB over the Parquet records in the storage directory.

The records are loaded into an in-memory table ``results`` shaped as Athena sees the Glue
table: the schema's columns with their types, the Hive partition keys as strings, and
timestamps at millisecond precision (Athena's ``timestamp``), read as UTC. Then DuckDB's
access to files is switched off, so a query can only read that table.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import duckdb

from aiorch.analytics.athena_to_duckdb import DUCKDB_MACROS, AnalyticsQueryError, translate, translate_query
from aiorch.analytics.compaction import Compacted, compact
from aiorch.analytics.result import QueryResult, json_value
from aiorch.analytics.schema import TableSchema, load_schema


class LocalQueryFailed(AnalyticsQueryError):
    """DuckDB ran the translated query and it failed (division by zero, a bad cast...)."""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column_sql(name: str, hive_type: str, present: set[str], sql_type: str) -> str:
    if name not in present:
        return f"CAST(NULL AS {sql_type}) AS {name}"
    if hive_type == "timestamp":
        # Athena reads Glue timestamps with millisecond precision, rounding the microseconds.
        return f"make_timestamp(CAST(round(epoch_us({name}) / 1000.0) AS BIGINT) * 1000) AS {name}"
    return f"CAST({name} AS {sql_type}) AS {name}"


def compact_local(storage_root: str | Path, schema: TableSchema | None = None) -> Compacted:
    """Compact the local results table under a lock, so concurrent answers never see a row twice."""
    from aiorch.storage import LocalStorage

    schema = schema or load_schema()
    directory = Path(storage_root) / schema.location_prefix
    if not directory.is_dir():
        return Compacted()
    with (directory / ".compaction.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return compact(LocalStorage(storage_root), schema=schema)


class LocalRunner:
    """One DuckDB connection over a snapshot of the records under ``storage_root``."""

    def __init__(self, storage_root: str | Path, schema: TableSchema | None = None) -> None:
        self.schema = schema or load_schema()
        self.root = Path(storage_root)
        self.connection = duckdb.connect(":memory:")
        self.connection.execute("SET TimeZone = 'UTC'")  # Athena's session time zone
        for macro in DUCKDB_MACROS:
            self.connection.execute(macro)
        self._load()
        self.connection.execute("SET enable_external_access = false")
        self.connection.execute("SET lock_configuration = true")

    def _load(self) -> None:
        schema = self.schema
        types = schema.sql_types()
        directory = self.root / schema.location_prefix
        files = sorted(directory.glob("**/*.parquet")) if directory.is_dir() else []
        if not files:
            nulls = ", ".join(f"CAST(NULL AS {types[c]}) AS {c}" for c in types)
            self.connection.execute(f"CREATE TABLE {schema.table} AS SELECT {nulls} WHERE false")
            return
        hive_types = "{" + ", ".join(f"{_quote(p.name)}: 'VARCHAR'" for p in schema.partition_keys) + "}"
        source = (
            f"read_parquet({_quote(str(directory))} || '/**/*.parquet', hive_partitioning = true, "
            f"hive_types = {hive_types}, union_by_name = true)"
        )
        present = {row[0] for row in self.connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        columns = [_column_sql(c.name, c.type, present, types[c.name]) for c in schema.columns]
        columns += [_column_sql(p.name, p.type, present, types[p.name]) for p in schema.partition_keys]
        self.connection.execute(f"CREATE TABLE {schema.table} AS SELECT {', '.join(columns)} FROM {source}")

    def translate(self, sql: str) -> str:
        return translate(sql, self.schema)

    def run(self, sql: str) -> QueryResult:
        """Answer Athena SQL; ``AnalyticsQueryError`` when it cannot be answered faithfully."""
        translation = translate_query(sql, self.schema)
        try:
            # A cursor of its own: one runner may answer several requests at once (shared_runner).
            cursor = self.connection.cursor().execute(translation.duckdb_sql)
        except duckdb.Error as exc:
            raise LocalQueryFailed(f"the query failed: {exc}") from exc
        columns = [d[0] for d in cursor.description or []]
        if translation.column_names is not None and len(translation.column_names) == len(columns):
            columns = translation.column_names
        rows = [dict(zip(columns, (json_value(v) for v in row), strict=True)) for row in cursor.fetchall()]
        return QueryResult(columns, rows)

    def close(self) -> None:
        self.connection.close()


_shared: dict[str, tuple[tuple[tuple[str, int, int], ...], LocalRunner]] = {}
_shared_lock = threading.Lock()


def files_signature(storage_root: str | Path, schema: TableSchema) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of every Parquet file of the table: changes whenever a row is written."""
    directory = Path(storage_root) / schema.location_prefix
    found = []
    for dirpath, _dirs, names in os.walk(directory):
        for name in names:
            if name.endswith(".parquet"):
                info = os.stat(os.path.join(dirpath, name))
                found.append((os.path.join(dirpath, name), info.st_size, info.st_mtime_ns))
    return tuple(sorted(found))


def shared_runner(storage_root: str | Path) -> LocalRunner:
    """One runner per storage folder, kept while its files are unchanged: an answer then costs a
    listing of the (compacted) day folders and the query, not a reload of the whole history."""
    schema = load_schema()
    signature = files_signature(storage_root, schema)
    key = str(Path(storage_root).resolve())
    with _shared_lock:
        cached = _shared.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        runner = LocalRunner(storage_root, schema)
        _shared[key] = (signature, runner)  # a replaced runner closes when its last user lets go
        return runner
