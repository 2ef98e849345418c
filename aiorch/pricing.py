"""What a run costs: a price per second for the machine a job ran on, times its device seconds.

The table holds AWS's public On-Demand prices (Linux, us-east-1, USD an hour) for the GPU instance
types the Batch module allows (iac/modules/batch/variables.tf ``instance_types``). They are list
prices copied by hand on the date in ``PRICES_AS_OF``, not read from AWS at run time: check
https://aws.amazon.com/ec2/pricing/on-demand/ and update the table and the date together.

Spot prices move with supply, by hour and by availability zone, so no table of them would stay true:
a Spot price is the On-Demand price times ``spot_price_fraction`` (a setting, an assumption), and
says so in its ``source``.

Which machine ran a job: a Batch container cannot read the instance metadata (IMDSv2's hop limit of 1
stops a container's requests), so the job reads ``instance_type`` from its settings: the job
definition passes the compute environments' allowed types (``AIORCH_INSTANCE_TYPE``). One type
prices exactly; several price as the dearest of them, named as a fallback (an upper bound); a capacity
type that is not given (Spot or On-Demand: the queue uses both) prices as On-Demand, also named. With
no instance type (a local run) the price is ``local_price_per_gpu_hour_usd``, 0 by default: free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiorch.contracts import RunCost
    from aiorch.settings import Settings

PRICES_AS_OF = "2025-06-01"
PRICE_REGION = "us-east-1"

# On-Demand, Linux, us-east-1, USD per instance-hour (one GPU each), as of PRICES_AS_OF.
ON_DEMAND_USD_PER_HOUR: dict[str, float] = {
    "g5.xlarge": 1.006,
    "g5.2xlarge": 1.212,
    "g6.xlarge": 0.8048,
    "g6.2xlarge": 0.9776,
}

ON_DEMAND = "on-demand"
SPOT = "spot"
LOCAL = "local"


@dataclass(frozen=True)
class Price:
    """A price per second and where it came from, in words (``fallback`` when it is a stand-in)."""

    instance_type: str
    capacity: str  # on-demand, spot or local
    usd_per_second: float
    source: str
    fallback: bool = False


def _listed(instance_type: str, capacity: str | None, spot_fraction: float) -> Price:
    per_hour = ON_DEMAND_USD_PER_HOUR[instance_type]
    listed = f"{instance_type} On-Demand {PRICE_REGION} ${per_hour}/h (price table as of {PRICES_AS_OF})"
    if capacity == SPOT:
        return Price(
            instance_type,
            SPOT,
            per_hour * spot_fraction / 3600,
            f"{listed} × {spot_fraction} assumed Spot fraction (Spot prices vary)",
        )
    if capacity == ON_DEMAND:
        return Price(instance_type, ON_DEMAND, per_hour / 3600, listed)
    return Price(
        instance_type,
        ON_DEMAND,
        per_hour / 3600,
        f"fallback: capacity type not reported, priced as On-Demand (an upper bound): {listed}",
        fallback=True,
    )


def price_for(instance_types: str | None, capacity: str | None, settings: Settings) -> Price:
    """The price per second of a job on ``instance_types`` (one type, or a comma-separated list of
    the types it may have run on); ``capacity`` on-demand, spot or None (not known)."""
    if not instance_types or not instance_types.strip():
        return Price(
            LOCAL,
            LOCAL,
            settings.local_price_per_gpu_hour_usd / 3600,
            f"local: configured ${settings.local_price_per_gpu_hour_usd}/h (local_price_per_gpu_hour_usd)",
        )
    types = sorted({t.strip() for t in instance_types.split(",") if t.strip()})
    known = [t for t in types if t in ON_DEMAND_USD_PER_HOUR]
    dearest_listed = max(ON_DEMAND_USD_PER_HOUR, key=ON_DEMAND_USD_PER_HOUR.__getitem__)
    if len(types) == 1 and known:
        return _listed(types[0], capacity, settings.spot_price_fraction)
    # Several possible types, or types the table does not hold: the dearest of those it holds (or of
    # the whole table), so a cost shown is never below what the run may have cost.
    chosen = max(known, key=ON_DEMAND_USD_PER_HOUR.__getitem__) if known else dearest_listed
    price = _listed(chosen, capacity, settings.spot_price_fraction)
    why = (
        f"one of {', '.join(types)}, priced as the dearest"
        if known and len(types) > 1
        else f"{', '.join(types)} not in the price table, priced as its dearest type"
    )
    source = price.source.removeprefix("fallback: ")
    return Price(chosen, price.capacity, price.usd_per_second, f"fallback: {why}: {source}", fallback=True)


def job_price(settings: Settings) -> Price:
    """The price per second of a job run with these settings (the job's own environment)."""
    return price_for(settings.instance_type, settings.capacity_type, settings)


def run_cost(price: Price, device_seconds: float) -> RunCost:
    """One job's cost: its device seconds at ``price``."""
    from aiorch.contracts import RunCost

    if not math.isfinite(device_seconds) or device_seconds < 0:
        raise ValueError(f"device seconds must be a finite number ≥ 0, not {device_seconds}")
    return RunCost(
        usd=price.usd_per_second * device_seconds,
        device_seconds=device_seconds,
        usd_per_second=price.usd_per_second,
        instance_type=price.instance_type,
        capacity=price.capacity,
        price_source=price.source,
    )


def sum_costs(costs: list[RunCost]) -> RunCost | None:
    """The cost of a run made of several jobs (inpaint's two, a batch's images): sums of money and
    seconds; the machine and price source of each job, once each, in order."""
    if not costs:
        return None
    from aiorch.contracts import RunCost

    def once(values: list[str]) -> str:
        return "; ".join(dict.fromkeys(values))

    seconds = sum(c.device_seconds for c in costs)
    usd = sum(c.usd for c in costs)
    return RunCost(
        usd=usd,
        device_seconds=seconds,
        usd_per_second=usd / seconds if seconds > 0 else costs[0].usd_per_second,
        instance_type=once([c.instance_type for c in costs]),
        capacity=once([c.capacity for c in costs]),
        price_source=once([c.price_source for c in costs]),
    )


def estimate_usd(images: int, settings: Settings) -> float:
    """What a run of ``images`` images is expected to cost before it runs: the settings' GPU seconds
    per image (``queue_seconds_per_image``, the same figure admission uses) at the price of the
    machine jobs run on with these settings (the API's settings name the same types as the jobs')."""
    return job_price(settings).usd_per_second * settings.queue_seconds_per_image * max(1, images)


def month_of(when: datetime) -> str:
    """The budget month a run is charged to: its submit time's UTC year and month, ``YYYY-MM``."""
    return when.astimezone(UTC).strftime("%Y-%m")


def month_resets_at(when: datetime) -> datetime:
    """When the budget month of ``when`` ends: the first of the next month, 00:00 UTC."""
    utc = when.astimezone(UTC)
    year, month = (utc.year + 1, 1) if utc.month == 12 else (utc.year, utc.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def usd_words(usd: float) -> str:
    """Dollars for people: cents from a dollar up, four places below it (a run costs fractions of a cent)."""
    return f"${usd:.2f}" if usd >= 1 else f"${usd:.4f}"


def cost_words(cost: RunCost | None, estimated_usd: float | None = None) -> str:
    """A run's cost for people: ``$0.0123 (…)``, ``free (local, …)``, or why there is no figure."""
    if cost is None:
        if estimated_usd is not None:
            return f"not recorded (estimated ${estimated_usd:.4f} at submit)"
        return "not recorded"
    seconds = f"{cost.device_seconds:.1f} device s"
    if cost.usd == 0 and cost.capacity == LOCAL:
        return f"free (local, {seconds})"
    return f"${cost.usd:.4f} ({seconds} at ${cost.usd_per_second:.6f}/s; {cost.price_source})"
