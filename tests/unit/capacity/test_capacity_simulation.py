"""100 virtual users following their runs, against AWS's quotas as token buckets on a fake clock.

The costs per request are the ones counted on moto (conftest's measured run); the web app's pace and
the stage throttle are read from frontend/src/lib/poll.ts and iac/modules/api/variables.tf. The users poll at
the web app's fastest pace all the time: its adaptive pace sends no more than that."""

from __future__ import annotations

import time

import pytest

from tests.unit.capacity.aws_calls import POLL_RUNNING, POLL_UNCHANGED, Calls, MeasuredRun
from tests.unit.capacity.simulation import (
    DESCRIBE_EXECUTION,
    STAGE,
    FakeClock,
    TokenBucket,
    fastest_poll_interval_s,
    shipped_quotas,
    simulate,
    terraform_default,
)

USERS = 100
HEADROOM = 2.0
# A stage throttle that lets every request through, whatever the pace tried (the fixed 0.7 s the web app
# polled at before its pace adapted sends ~160 requests in the busiest second), so the backends see the
# whole load.
SIZED_STAGE_RATE, SIZED_STAGE_BURST = 400, 800
# The web app's old fixed pace: too fast for the shipped throttle, which is sized with the adaptive one.
FIXED_PACE_S = 0.7


def test_a_token_bucket_allows_its_burst_then_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(clock, bucket=5, rate=2)
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    clock.at(1.0, lambda: None)
    clock.run_until(1.0)
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_the_facts_are_read_from_the_files_that_set_them() -> None:
    assert fastest_poll_interval_s("export const MOVING_POLL_MS = 1_500 // the fastest") == 1.5
    assert terraform_default("x", '# why\nvariable "x" {\n  type = number\n  default = 20\n}') == 20
    with pytest.raises(ValueError):
        fastest_poll_interval_s("export const QUEUED_POLL_MS = 5_000")
    assert fastest_poll_interval_s() > 0 and terraform_default("throttling_rate_limit") > 0


def test_100_users_leave_twice_the_room_under_every_aws_quota(measured_run: MeasuredRun) -> None:
    """Everything behind the stage: Lambda, Step Functions, Batch and DynamoDB, at the web app's pace
    (the stage sized to let every request through, so the backends see the whole load)."""
    quotas = shipped_quotas(stage_rate=SIZED_STAGE_RATE, stage_burst=SIZED_STAGE_BURST)
    started = time.perf_counter()
    report = simulate(measured_run, USERS, quotas, fastest_poll_interval_s())
    assert time.perf_counter() - started < 10  # fake time: 300 s of it in a few real seconds at most
    print(f"\n{USERS} users, polling every {fastest_poll_interval_s()} s (stage throttle {SIZED_STAGE_RATE}/s)")
    print(report.table())
    assert report.runs_finished >= USERS  # each user finished at least one run
    assert report.states_reads_from_polls == 0
    for name, meter in report.meters.items():
        assert meter.throttled == 0, name
        assert meter.headroom >= HEADROOM, f"{name}: peak {meter.peak} against {meter.quota.rate}"
    assert report.polls_failed == 0


def test_100_users_fit_the_shipped_stage_throttle_at_the_web_apps_pace(measured_run: MeasuredRun) -> None:
    """The shipped throttle against the web app's fastest pace, every request counted (304s too);
    printed for docs/capacity.md."""
    report = simulate(measured_run, USERS, shipped_quotas(), fastest_poll_interval_s())
    rate, burst = terraform_default("throttling_rate_limit"), terraform_default("throttling_burst_limit")
    pace = fastest_poll_interval_s()
    print(f"\n{USERS} users, polling every {pace} s (shipped stage throttle {rate:.0f}/s, burst {burst:.0f})")
    print(report.table())
    assert report.polls_failed == 0
    assert report.meters[STAGE].throttled == 0
    assert report.meters[STAGE].headroom >= HEADROOM


def test_the_old_fixed_pace_does_not_fit_the_shipped_stage_throttle(measured_run: MeasuredRun) -> None:
    """The pace and the throttle are set together: at the 0.7 s the web app polled at, with no backoff,
    the busiest second asks for more than the shipped throttle's sustained rate (the simulation can fail)."""
    report = simulate(measured_run, USERS, shipped_quotas(), FIXED_PACE_S)
    print(f"\nfixed {FIXED_PACE_S} s pace, shipped stage throttle {terraform_default('throttling_rate_limit'):.0f}/s:")
    print(report.table())
    assert report.meters[STAGE].headroom < HEADROOM


def test_polls_that_read_step_functions_would_exhaust_describe_execution(measured_run: MeasuredRun) -> None:
    """The simulation can fail: give each poll the DescribeExecution that polls used to make."""
    costs = dict(measured_run.calls)
    for kind in (POLL_RUNNING, POLL_UNCHANGED):
        describing = Calls(costs[kind].by_api.copy(), costs[kind].writes_by_partition.copy())
        describing.by_api[("stepfunctions", "DescribeExecution")] += 1
        costs[kind] = describing
    quotas = shipped_quotas(stage_rate=SIZED_STAGE_RATE, stage_burst=SIZED_STAGE_BURST)
    report = simulate(measured_run, USERS, quotas, fastest_poll_interval_s(), costs=costs)
    assert report.states_reads_from_polls > 0
    assert report.meters[DESCRIBE_EXECUTION].throttled > 0
    assert report.meters[DESCRIBE_EXECUTION].headroom < HEADROOM
