"""One entry point for the CLI and the web API: answer a named query or Athena SQL.

Local storage (a directory) → DuckDB over the Parquet records; S3 storage → Athena in the
workgroup from Settings. The SQL is the same Athena SQL either way.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from aiorch.analytics.errors import AnalyticsQueryError, UnknownQueryRun
from aiorch.analytics.queries import get_query, load_queries
from aiorch.analytics.result import QueryResult
from aiorch.settings import Settings, get_settings


class Runner(Protocol):
    def run(self, sql: str) -> QueryResult: ...


class TwoStepRunner(Protocol):
    """Start a query, then look at it: how the web API answers (API Gateway waits 29 s at most)."""

    def start(self, sql: str) -> str: ...

    def poll(self, query_id: str, sql: str) -> QueryResult | None: ...


class AnswerOnPoll:
    """The local runner in the two-step protocol: DuckDB answers in milliseconds, so ``start``
    runs nothing and keeps nothing, and ``poll`` answers at once. Same addresses, same shapes."""

    PREFIX = "local-"

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def start(self, sql: str) -> str:
        return f"{self.PREFIX}{uuid.uuid4().hex}"

    def poll(self, query_id: str, sql: str) -> QueryResult | None:
        if not query_id.startswith(self.PREFIX):
            raise UnknownQueryRun(f"there is no local query run {query_id}")
        return self.runner.run(sql)


def open_two_step_runner(settings: Settings | None = None) -> TwoStepRunner:
    runner = open_runner(settings)
    if hasattr(runner, "start") and hasattr(runner, "poll"):
        return runner  # type: ignore[return-value]  # AthenaRunner
    return AnswerOnPoll(runner)


def open_runner(settings: Settings | None = None) -> Runner:
    settings = settings or get_settings()
    url = settings.resolved_storage_url
    if url.startswith("s3://"):
        from aiorch.analytics.aws import AthenaRunner

        return AthenaRunner(settings)
    try:
        from aiorch.analytics.local import compact_local, shared_runner  # DuckDB and sqlglot: the local stack only
    except ImportError as exc:
        raise AnalyticsQueryError(
            f"answering queries over local storage needs DuckDB and sqlglot ({exc}); install aiorch[local]"
        ) from exc
    root = url.removeprefix("file://")
    if settings.analytics_compaction:
        compact_local(root)  # costs what was written since the last answer, not the whole history
    return shared_runner(root)


def list_named_queries() -> list[dict[str, str]]:
    return [{"name": q.name, "description": q.description} for q in load_queries().values()]


def run_sql(sql: str, settings: Settings | None = None) -> dict[str, Any]:
    """``{"columns": [...], "rows": [{column: value}, ...]}``; raises ``AnalyticsQueryError``."""
    return open_runner(settings).run(sql).to_dict()


def run_named_query(name: str, settings: Settings | None = None) -> dict[str, Any]:
    """Answer ``analytics/queries/<name>.sql``; raises ``UnknownQuery`` or ``AnalyticsQueryError``."""
    return run_sql(get_query(name).sql, settings)


def start_named_query(name: str, settings: Settings | None = None) -> str:
    """Start ``analytics/queries/<name>.sql``; returns the id to poll. Raises ``UnknownQuery``."""
    return open_two_step_runner(settings).start(get_query(name).sql)


def named_query_answer(name: str, query_id: str, settings: Settings | None = None) -> dict[str, Any] | None:
    """The answer of a started run, or None while it runs. Raises ``UnknownQuery``,
    ``UnknownQueryRun`` or ``AnalyticsQueryError`` (the query failed)."""
    result = open_two_step_runner(settings).poll(query_id, get_query(name).sql)
    return None if result is None else result.to_dict()
