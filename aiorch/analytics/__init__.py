"""Analytics: the results table (one Parquet row per execution) and the analysts' named queries.

- ``schema``: ``analytics/schema.json``, the one definition Terraform's Glue table and this code read.
- ``records``: ``AnalyticsRow`` and ``write_row`` (light: pydantic + pyarrow, fit for a Lambda).
- ``queries``: the named queries in ``analytics/queries/*.sql`` (Athena dialect).
- ``athena_to_duckdb``: Athena SQL → DuckDB SQL that keeps Athena's meaning, or a clear refusal.
- ``local``: DuckDB over the local Parquet records; ``aws``: Athena through the workgroup.
- ``service``: ``run_named_query`` / ``run_sql`` for the API and the CLI (picks local or Athena).

Only ``schema`` and ``records`` are imported here: DuckDB and sqlglot are local-stack dependencies.
"""

from aiorch.analytics.records import AnalyticsRow, estimate_cost_usd, user_hash, write_row

__all__ = ["AnalyticsRow", "estimate_cost_usd", "user_hash", "write_row"]
