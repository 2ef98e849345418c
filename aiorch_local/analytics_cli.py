"""``aiorch analytics list | run NAME | query SQL`` with ``--format table|csv|json``.

Locally the SQL (Athena dialect) is answered by DuckDB over the Parquet records; with S3
storage it runs on Athena. ``--format json`` prints a JSON list of row objects.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import click

from aiorch.analytics.errors import AnalyticsQueryError
from aiorch.analytics.queries import UnknownQuery
from aiorch.analytics.service import list_named_queries, run_named_query, run_sql

FORMATS = click.Choice(["table", "csv", "json"])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def render(columns: list[str], rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(row.get(c)) for c in columns] for row in rows])
        return out.getvalue().rstrip("\n")
    cells = [[_text(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "  ".join
    lines = [line(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append(line("-" * w for w in widths))
    lines += [line(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def _answer(fetch: Any, fmt: str) -> None:
    try:
        result = fetch()
    except (AnalyticsQueryError, UnknownQuery) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    click.echo(render(result["columns"], result["rows"], fmt))


@click.group("analytics")
def analytics() -> None:
    """Analysts' queries (Athena SQL) over the results table."""


@analytics.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def list_command(fmt: str) -> None:
    """The named queries in analytics/queries/."""
    click.echo(render(["name", "description"], list_named_queries(), fmt))


@analytics.command("run")
@click.argument("name")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def run_command(name: str, fmt: str) -> None:
    """Answer the named query NAME."""
    _answer(lambda: run_named_query(name), fmt)


@analytics.command("query")
@click.argument("sql")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def query_command(sql: str, fmt: str) -> None:
    """Answer SQL written in Athena's dialect against the table `results`."""
    _answer(lambda: run_sql(sql), fmt)
