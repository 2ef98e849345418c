"""The results table's schema, read from ``analytics/schema.json`` (shared with Terraform)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

# analytics/ sits next to the aiorch package (the repository root, or the root of a Lambda zip).
ANALYTICS_DIR = Path(__file__).resolve().parents[2] / "analytics"
SCHEMA_PATH = ANALYTICS_DIR / "schema.json"
QUERIES_DIR = ANALYTICS_DIR / "queries"

# Hive/Athena type → the Parquet (Arrow) type written for it. Timestamps: UTC, microseconds.
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}

# Hive/Athena type → the SQL type sqlglot and DuckDB use for it.
SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str = ""


@dataclass(frozen=True)
class TableSchema:
    version: int
    table: str
    columns: tuple[Column, ...]
    partition_keys: tuple[Column, ...]
    location_prefix: str

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        """The schema of each Parquet file (partition keys live in the path, not in the file)."""
        return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in self.columns])

    def sql_types(self) -> dict[str, str]:
        """Column → SQL type of the whole table as queries see it, partition keys included."""
        return {c.name: SQL_TYPES[c.type] for c in (*self.columns, *self.partition_keys)}


def parse_schema(raw: dict) -> TableSchema:
    def column(c: dict) -> Column:
        if c["type"] not in ARROW_TYPES:
            raise ValueError(f"column {c['name']!r} has type {c['type']!r}; allowed: {sorted(ARROW_TYPES)}")
        return Column(c["name"], c["type"], c.get("description", ""))

    return TableSchema(
        version=int(raw["version"]),
        table=raw["table"],
        columns=tuple(column(c) for c in raw["columns"]),
        partition_keys=tuple(column(c) for c in raw["partition_keys"]),
        location_prefix=raw["location_prefix"],
    )


@lru_cache(maxsize=1)
def load_schema(path: Path = SCHEMA_PATH) -> TableSchema:
    return parse_schema(json.loads(path.read_text()))
