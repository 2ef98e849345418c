"""A price on every run: the price table, its named fallbacks, the free local price, and the monthly
budget charged in the index's start transaction (SQLite and DynamoDB on moto) and settled at finalise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aiorch.contracts import ExecutionStatus, Outcome, RunCost
from aiorch.index import Budget, BudgetSpent, ExecutionIndex
from aiorch.pricing import (
    ON_DEMAND_USD_PER_HOUR,
    PRICES_AS_OF,
    cost_words,
    estimate_usd,
    job_price,
    month_of,
    month_resets_at,
    price_for,
    run_cost,
    sum_costs,
)
from aiorch.settings import Settings
from tests.unit.core.test_index import dynamodb, index, record  # noqa: F401  (fixtures, shared)


def test_a_listed_type_is_priced_per_second_from_the_table_with_its_date() -> None:
    price = price_for("g5.xlarge", "on-demand", Settings())
    assert price.usd_per_second == pytest.approx(1.006 / 3600)
    assert not price.fallback and price.capacity == "on-demand"
    assert f"price table as of {PRICES_AS_OF}" in price.source and "us-east-1" in price.source
    assert run_cost(price, 3600).usd == pytest.approx(1.006)


def test_spot_is_the_on_demand_price_times_the_configured_fraction_and_says_it_is_assumed() -> None:
    price = price_for("g6.xlarge", "spot", Settings(spot_price_fraction=0.25))
    assert price.usd_per_second == pytest.approx(0.8048 * 0.25 / 3600)
    assert price.capacity == "spot" and "assumed Spot fraction (Spot prices vary)" in price.source


def test_an_unknown_type_falls_back_to_the_dearest_listed_price_named_a_fallback() -> None:
    price = price_for("p5.48xlarge", "on-demand", Settings())
    assert price.fallback and price.source.startswith("fallback: p5.48xlarge not in the price table")
    assert price.usd_per_second == pytest.approx(max(ON_DEMAND_USD_PER_HOUR.values()) / 3600)


def test_several_possible_types_or_an_unknown_capacity_price_as_the_upper_bound_named_so() -> None:
    several = price_for("g5.xlarge, g6.xlarge,g6.2xlarge", "on-demand", Settings())
    assert several.fallback and several.instance_type == "g5.xlarge"  # $1.006/h beats g6.2xlarge's $0.9776
    assert several.source.startswith("fallback: one of g5.xlarge, g6.2xlarge, g6.xlarge, priced as the dearest")
    unknown_capacity = price_for("g5.2xlarge", None, Settings())
    assert unknown_capacity.fallback and unknown_capacity.capacity == "on-demand"
    assert unknown_capacity.source.startswith("fallback: capacity type not reported, priced as On-Demand")
    assert unknown_capacity.usd_per_second == pytest.approx(1.212 / 3600)


def test_a_local_run_is_free_by_default_or_at_the_configured_price() -> None:
    free = job_price(Settings())
    assert (free.instance_type, free.capacity, free.usd_per_second) == ("local", "local", 0.0)
    assert cost_words(run_cost(free, 12.34)) == "free (local, 12.3 device s)"
    priced = job_price(Settings(local_price_per_gpu_hour_usd=1.8))
    assert priced.usd_per_second == pytest.approx(0.0005) and not priced.fallback
    assert cost_words(run_cost(priced, 10)).startswith("$0.0050 (10.0 device s at $0.000500/s; local: configured")


def test_a_run_s_cost_sums_its_jobs_and_an_estimate_is_the_per_image_seconds_at_the_price() -> None:
    price = price_for("g5.xlarge", "on-demand", Settings())
    total = sum_costs([run_cost(price, 10), run_cost(price, 30)])
    assert total is not None and total.usd == pytest.approx(40 * 1.006 / 3600) and total.device_seconds == 40
    assert sum_costs([]) is None
    settings = Settings(instance_type="g5.xlarge", capacity_type="on-demand", queue_seconds_per_image=20)
    assert estimate_usd(3, settings) == pytest.approx(60 * 1.006 / 3600)
    with pytest.raises(ValueError, match="device seconds"):
        run_cost(price, -1)


def test_the_budget_month_is_the_utc_month_and_resets_on_the_first_of_the_next() -> None:
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert month_of(late) == "2026-12"
    assert month_resets_at(late) == datetime(2027, 1, 1, tzinfo=UTC)
    assert month_resets_at(datetime(2026, 3, 1, tzinfo=UTC)) == datetime(2026, 4, 1, tzinfo=UTC)


def _cost(usd: float) -> RunCost:
    return RunCost(usd=usd, device_seconds=10, usd_per_second=usd / 10, instance_type="local", capacity="local",
                   price_source="local: configured")  # fmt: skip


def test_start_charges_the_estimate_refuses_past_the_budget_and_finalise_settles_the_cost(
    index: ExecutionIndex,  # noqa: F811  (the shared fixture, both backends)
) -> None:
    first = record(estimated_cost_usd=0.4)
    month = month_of(first.created_at)
    budget = Budget(month, limit_usd=1.0)
    assert index.start(first, limit=10, budget=budget).created
    assert index.spent_usd("alice", month) == pytest.approx(0.4)
    assert index.start(record(estimated_cost_usd=0.6), limit=10, budget=budget).created  # exactly fits
    with pytest.raises(BudgetSpent) as refused:
        index.start(record(estimated_cost_usd=0.01), limit=10, budget=budget)
    assert (refused.value.spent_usd, refused.value.limit_usd) == (pytest.approx(1.0), 1.0)
    assert index.running_count("alice") == 2  # nothing written by the refusal

    done, _ = index.finalise(
        "alice", first.execution_id, Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="t", cost=_cost(0.1))
    )
    assert done is not None and done.cost is not None and done.cost.usd == 0.1
    assert index.get("alice", first.execution_id).cost == _cost(0.1)  # type: ignore[union-attr]
    assert index.spent_usd("alice", month) == pytest.approx(0.7)  # 0.4 estimated, 0.1 cost
    assert index.start(record(estimated_cost_usd=0.3), limit=10, budget=budget).created
    assert index.spent_usd("bob", month) == 0.0
    assert index.start(record("bob", estimated_cost_usd=0.9), limit=10, budget=budget).created


def test_an_estimate_above_the_whole_budget_is_refused_and_an_unlimited_budget_still_counts(
    index: ExecutionIndex,  # noqa: F811
) -> None:
    month = month_of(datetime.now(UTC))
    with pytest.raises(BudgetSpent):
        index.start(record(estimated_cost_usd=2.0), limit=10, budget=Budget(month, 1.0))
    assert index.spent_usd("alice", month) == 0.0
    unlimited = record(estimated_cost_usd=2.0)
    assert index.start(unlimited, limit=10, budget=Budget(month, 0.0)).created
    # No job ran: no cost.
    index.finalise("alice", unlimited.execution_id, Outcome(status=ExecutionStatus.FAILED, recorded_by="t"))
    assert index.spent_usd("alice", month) == 0.0
