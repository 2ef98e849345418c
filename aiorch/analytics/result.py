"""A query's answer in one JSON-friendly shape, the same from DuckDB and from Athena.

``{"columns": [...], "rows": [{column: value}, ...]}``. Values are JSON types: timestamps
as Athena prints them (``2026-03-07 23:59:59.123``), dates as ``YYYY-MM-DD``, decimals as
numbers, non-finite doubles as Athena's words (``NaN``, ``Infinity``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}


def json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return text if value.tzinfo is None else f"{text} {value.tzname()}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(json_value(k)): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)
