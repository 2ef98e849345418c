"""One entry point for the CLI and the web API: answer a named query or Athena SQL.

Local storage (a directory) → DuckDB over the Parquet records; S3 storage → Athena in the
workgroup from Settings. The SQL is the same Athena SQL either way.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiorch.analytics.errors import AnalyticsQueryError
from aiorch.analytics.queries import get_query, load_queries
from aiorch.analytics.result import QueryResult
from aiorch.settings import Settings, get_settings


class Runner(Protocol):
    def run(self, sql: str) -> QueryResult: ...


def open_runner(settings: Settings | None = None) -> Runner:
    settings = settings or get_settings()
    url = settings.resolved_storage_url
    if url.startswith("s3://"):
        from aiorch.analytics.aws import AthenaRunner

        return AthenaRunner(settings)
    try:
        from aiorch.analytics.local import LocalRunner  # DuckDB and sqlglot: the local stack only
    except ImportError as exc:
        raise AnalyticsQueryError(
            f"answering queries over local storage needs DuckDB and sqlglot ({exc}); install aiorch[local]"
        ) from exc
    return LocalRunner(url.removeprefix("file://"))


def list_named_queries() -> list[dict[str, str]]:
    return [{"name": q.name, "description": q.description} for q in load_queries().values()]


def run_sql(sql: str, settings: Settings | None = None) -> dict[str, Any]:
    """``{"columns": [...], "rows": [{column: value}, ...]}``; raises ``AnalyticsQueryError``."""
    return open_runner(settings).run(sql).to_dict()


def run_named_query(name: str, settings: Settings | None = None) -> dict[str, Any]:
    """Answer ``analytics/queries/<name>.sql``; raises ``UnknownQuery`` or ``AnalyticsQueryError``."""
    return run_sql(get_query(name).sql, settings)
