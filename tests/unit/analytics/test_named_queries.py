"""The named queries: one Athena SQL file each, a header Terraform and the runner read, valid SQL."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from aiorch.analytics.athena_to_duckdb import translate
from aiorch.analytics.queries import UnknownQuery, get_query, load_queries, parse_named_query
from aiorch.analytics.schema import QUERIES_DIR, load_schema

REQUIRED = {
    "volume_per_operation_per_day",
    "duration_percentiles_by_operation_device",
    "failure_rate_per_operation",
    "top_errors",
    "throughput_per_model",
    "cost_per_image",
    "cost_per_user_operation_per_day",
}


def test_the_issue_s_queries_are_all_there():
    assert set(load_queries()) >= REQUIRED


@pytest.mark.parametrize("path", sorted(QUERIES_DIR.glob("*.sql")), ids=lambda p: p.stem)
def test_each_file_starts_with_its_name_and_description(path):
    lines = path.read_text().splitlines()
    assert lines[0] == f"-- name: {path.stem}"
    assert lines[1].startswith("-- description: ") and len(lines[1]) > len("-- description: ") + 10


@pytest.mark.parametrize("path", sorted(QUERIES_DIR.glob("*.sql")), ids=lambda p: p.stem)
def test_each_query_parses_with_sqlglot_s_athena_dialect_as_one_select(path):
    statements = sqlglot.parse(path.read_text(), read="athena", error_level=sqlglot.ErrorLevel.RAISE)
    assert len(statements) == 1
    assert isinstance(statements[0], exp.Query)
    assert {t.name for t in statements[0].find_all(exp.Table)} == {"results"}


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_query_translates_to_duckdb_without_refusal(name):
    duckdb_sql = translate(get_query(name).sql, load_schema())
    assert "results" in duckdb_sql


def test_header_must_name_the_file(tmp_path):
    bad = tmp_path / "volume.sql"
    bad.write_text("-- name: something_else\n-- description: x\nSELECT 1")
    with pytest.raises(ValueError, match="must match the file name"):
        parse_named_query(bad)
    missing = tmp_path / "nodesc.sql"
    missing.write_text("-- name: nodesc\nSELECT 1")
    with pytest.raises(ValueError, match="lacks description"):
        parse_named_query(missing)


def test_unknown_query_names_the_known_ones():
    with pytest.raises(UnknownQuery, match="top_errors"):
        get_query("no_such_query")


def test_every_named_query_reads_only_the_day_partitions_of_its_window() -> None:
    """A predicate on the partition columns alone lets Athena prune with partition projection (it
    reads, and bills, only those days); without it a query scans the whole history."""
    from aiorch.analytics.queries import load_queries

    window = "year || '-' || month || '-' || day >= CAST(current_date - INTERVAL '30' DAY AS varchar)"
    for query in load_queries().values():
        assert window in query.sql, f"{query.name} has no date window"
        assert "last 30 days" in query.description, query.name
