"""The analysts' named queries: ``analytics/queries/<name>.sql``, in Athena's dialect.

Each file starts with a comment header that Terraform's ``aws_athena_named_query`` and
the local runner both read::

    -- name: volume_per_operation_per_day
    -- description: Executions per operation per UTC day.
    SELECT ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aiorch.analytics.schema import QUERIES_DIR

_HEADER = re.compile(r"^--\s*(name|description):\s*(.*?)\s*$")


class UnknownQuery(LookupError):
    """No named query by that name."""


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str  # the whole file, header included (a comment, so harmless to Athena)
    path: Path


def parse_named_query(path: Path) -> NamedQuery:
    text = path.read_text()
    header: dict[str, str] = {}
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            header.setdefault(match.group(1), match.group(2))
        elif line.strip() and not line.lstrip().startswith("--"):
            break  # the header ends at the first line of SQL
    missing = {"name", "description"} - header.keys()
    if missing:
        raise ValueError(f"{path.name}: the header lacks {', '.join(sorted(missing))} (-- name: / -- description:)")
    if header["name"] != path.stem:
        raise ValueError(f"{path.name}: '-- name: {header['name']}' must match the file name")
    return NamedQuery(header["name"], header["description"], text, path)


def load_queries(directory: Path = QUERIES_DIR) -> dict[str, NamedQuery]:
    return {q.name: q for q in (parse_named_query(p) for p in sorted(directory.glob("*.sql")))}


def get_query(name: str, directory: Path = QUERIES_DIR) -> NamedQuery:
    queries = load_queries(directory)
    if name not in queries:
        raise UnknownQuery(f"no named query {name!r}; known: {', '.join(queries) or 'none'}")
    return queries[name]
