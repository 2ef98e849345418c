"""The analytics errors, in a module with no heavy imports (the AWS path has no sqlglot or DuckDB)."""

from __future__ import annotations


class AnalyticsQueryError(ValueError):
    """A query that cannot be answered: the message says why in plain words."""


class InvalidQuery(AnalyticsQueryError):
    """The SQL does not parse, or names a table or column the results table does not have."""


class UnsupportedQuery(AnalyticsQueryError):
    """Valid Athena SQL whose meaning DuckDB would change; refused instead of answered wrongly."""


class UnknownQueryRun(LookupError):
    """No run of that named query has this id: the caller's mistake, not the query's."""
