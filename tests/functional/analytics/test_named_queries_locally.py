"""Every named query, answered locally over written records, equals an independent computation.

The expected numbers are computed here in plain Python from the generated rows, not from SQL.
Exact, except:
- approx_distinct / approx_percentile: within the error Athena documents (cited below);
- sums of doubles: equal up to the order of floating-point addition (rel 1e-12).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import pytest

from aiorch.analytics.local import LocalRunner
from aiorch.analytics.queries import load_queries

pytestmark = pytest.mark.functional

# Trino's approx_distinct (https://trino.io/docs/current/functions/aggregate.html):
#   "This function should produce a standard error of 2.3%, which is the standard deviation of the
#    (approximately normal) error distribution over all possible sets. It does not guarantee an upper
#    bound on the error for any specific input set."
# We accept three standard errors.
APPROX_DISTINCT_TOLERANCE = 3 * 0.023
# approx_percentile: Trino's page gives no number; Presto's (the engine of Athena v2) gives
# (https://prestodb.io/docs/current/functions/aggregate.html, approx_percentile(x, percentage, accuracy)):
#   "As approx_percentile(x, percentage), but with a maximum rank error of accuracy. ...
#    The default accuracy is 0.0133."
APPROX_PERCENTILE_RANK_ERROR = 0.0133


@pytest.fixture(scope="module")
def runner(dataset):
    root, _rows = dataset
    return LocalRunner(root)


def answer(runner: LocalRunner, name: str) -> list[dict]:
    return runner.run(load_queries()[name].sql).rows


def athena_ms_text(when) -> str:
    """A timestamp as Athena shows it: UTC, rounded to milliseconds."""
    epoch_us = round(when.timestamp() * 1_000_000)
    ms = (epoch_us + 500) // 1000
    from datetime import UTC, datetime, timedelta

    shown = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return shown.strftime("%Y-%m-%d %H:%M:%S.") + f"{shown.microsecond // 1000:03d}"


def test_every_named_query_is_answered_locally(runner):
    for query in load_queries().values():
        result = runner.run(query.sql)
        assert result.rows, query.name


def test_volume_per_operation_per_day(dataset, runner):
    _, rows = dataset
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for r in rows:
        groups[(r.partition_time.date().isoformat(), r.operation)].append(r)
    got = answer(runner, "volume_per_operation_per_day")
    assert [(g["utc_date"], g["operation"]) for g in got] == sorted(groups)
    for g in got:
        members = groups[(g["utc_date"], g["operation"])]
        assert g["executions"] == len(members)
        assert g["succeeded"] == sum(r.status == "SUCCEEDED" for r in members)
        distinct_users = len({r.user_hash for r in members if r.user_hash is not None})
        assert abs(g["users"] - distinct_users) <= APPROX_DISTINCT_TOLERANCE * distinct_users


def rank_error(values: list[int], answer_value: int, p: float) -> float:
    """How far the answer's rank is from p: 0 when some position of it in the sorted data is at p."""
    n = len(values)
    below = sum(v < answer_value for v in values) / n
    at_or_below = sum(v <= answer_value for v in values) / n
    return 0.0 if below <= p <= at_or_below else min(abs(p - below), abs(p - at_or_below))


def test_duration_percentiles_by_operation_and_device(dataset, runner):
    _, rows = dataset
    groups: dict[tuple, list] = defaultdict(list)
    for r in rows:
        if r.status == "SUCCEEDED":
            groups[(r.operation, r.device)].append(r)
    got = answer(runner, "duration_percentiles_by_operation_device")
    assert {(g["operation"], g["device"]) for g in got} == set(groups)
    for g in got:
        members = groups[(g["operation"], g["device"])]
        assert g["executions"] == len(members)
        for column in ("total_ms", "job_ms"):
            values = [getattr(r, column) for r in members if getattr(r, column) is not None]
            for p, key in ((0.5, f"p50_{column}"), (0.95, f"p95_{column}")):
                assert g[key] in values  # a percentile is one of the data's values
                assert rank_error(values, g[key], p) <= APPROX_PERCENTILE_RANK_ERROR, (g, key)


def athena_round(value: float, digits: int) -> float:
    # round(x, d) rounds half away from zero in Athena (and DuckDB); Python's round() is half-even.
    scale = 10**digits
    return math.floor(value * scale + 0.5) / scale


def test_failure_rate_per_operation(dataset, runner):
    _, rows = dataset
    by_operation: dict[str, list] = defaultdict(list)
    for r in rows:
        by_operation[r.operation].append(r)
    got = answer(runner, "failure_rate_per_operation")
    assert [g["operation"] for g in got] == sorted(by_operation)
    for g in got:
        members = by_operation[g["operation"]]
        statuses = Counter(r.status for r in members)
        not_succeeded = len(members) - statuses["SUCCEEDED"]
        assert g["executions"] == len(members)
        assert g["not_succeeded"] == not_succeeded
        assert g["failed"] == statuses["FAILED"]
        assert g["timed_out"] == statuses["TIMED_OUT"]
        assert g["stopped_or_interrupted"] == statuses["ABORTED"] + statuses["INTERRUPTED"]
        assert g["failure_rate"] == athena_round(not_succeeded / len(members), 4)
        assert 0 < g["failure_rate"] < 1


def test_top_errors(dataset, runner):
    _, rows = dataset
    failed = [r for r in rows if r.status != "SUCCEEDED"]
    by_error: dict[str, list] = defaultdict(list)
    for r in failed:
        by_error[r.error_type or "(none recorded)"].append(r)
    expected_order = sorted(by_error, key=lambda e: (-len(by_error[e]), e))[:10]
    got = answer(runner, "top_errors")
    assert [g["error_type"] for g in got] == expected_order
    for g in got:
        members = by_error[g["error_type"]]
        assert g["executions"] == len(members)
        assert g["operations"] == ",".join(sorted({r.operation for r in members}))
        assert g["last_seen"] == athena_ms_text(max(r.finished_at or r.started_at for r in members))


def test_throughput_per_model(dataset, runner):
    _, rows = dataset
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        if (
            r.status == "SUCCEEDED"
            and r.input_width is not None
            and r.input_height is not None
            and (r.model_ms or 0) > 0
        ):
            groups[r.model].append(r)
    got = answer(runner, "throughput_per_model")
    assert [g["model"] for g in got] == sorted(groups)
    for g in got:
        members = groups[g["model"]]
        pixels = sum(r.input_width * r.input_height for r in members)
        model_ms = sum(r.model_ms for r in members)
        assert g["executions"] == len(members)
        assert g["input_megapixels"] == pixels / 1e6
        assert g["model_seconds"] == model_ms / 1e3
        assert g["megapixels_per_second"] == (pixels / 1e6) / (model_ms / 1e3)


def test_cost_per_image(dataset, runner):
    _, rows = dataset
    groups: dict[tuple, list] = defaultdict(list)
    for r in rows:
        groups[(r.operation, r.device)].append(r)
    got = answer(runner, "cost_per_image")
    # NULLs sort last in Athena's ORDER BY, so the rows without a device come last in each operation.
    expected_keys = sorted(groups, key=lambda k: (k[0], k[1] is None, k[1] or ""))
    assert [(g["operation"], g["device"]) for g in got] == expected_keys
    for g in got:
        members = groups[(g["operation"], g["device"])]
        costs = [r.estimated_cost_usd for r in members if r.estimated_cost_usd is not None]
        images = sum(r.status == "SUCCEEDED" for r in members)
        assert g["executions"] == len(members)
        assert g["images"] == images
        total = math.fsum(costs) if costs else None
        assert g["total_cost_usd"] == (pytest.approx(total, rel=1e-12) if costs else None)
        if images == 0:
            assert g["cost_per_image_usd"] is None
        else:
            assert g["cost_per_image_usd"] == pytest.approx(total / images, rel=1e-12)


def test_cost_per_user_operation_per_day(dataset, runner):
    _, rows = dataset
    groups: dict[tuple, list] = defaultdict(list)
    for r in rows:
        groups[(r.partition_time.date().isoformat(), r.user_hash, r.operation)].append(r)
    got = answer(runner, "cost_per_user_operation_per_day")
    # NULLs sort last in Athena's ORDER BY: rows without a user hash come last in each day.
    expected_keys = sorted(groups, key=lambda k: (k[0], k[1] is None, k[1] or "", k[2]))
    assert [(g["utc_date"], g["user_hash"], g["operation"]) for g in got] == expected_keys
    assert any(g["cost_usd"] > 0 for g in got) and any(g["costed"] < g["executions"] for g in got)
    for g in got:
        members = groups[(g["utc_date"], g["user_hash"], g["operation"])]
        costs = [r.cost_usd for r in members if r.cost_usd is not None]
        assert g["executions"] == len(members)
        assert g["costed"] == len(costs)
        assert g["cost_usd"] == pytest.approx(math.fsum(costs), rel=1e-12, abs=1e-15)


def test_weighted_percentile_over_the_dataset_keeps_the_weights(dataset, runner):
    # The weight is a replication count (Trino's approx_percentile(x, w, percentage) documentation).
    _, rows = dataset
    sql = (
        "SELECT operation, approx_percentile(total_ms, tiles, 0.9) AS p90 FROM results "
        "WHERE total_ms IS NOT NULL AND tiles IS NOT NULL GROUP BY operation ORDER BY operation"
    )
    got = runner.run(sql).rows
    assert [g["operation"] for g in got] == sorted({r.operation for r in rows})
    for g in got:
        replicated = [r.total_ms for r in rows if r.operation == g["operation"] for _ in range(r.tiles)]
        assert rank_error(replicated, g["p90"], 0.9) <= APPROX_PERCENTILE_RANK_ERROR
