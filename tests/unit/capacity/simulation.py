"""Virtual users against AWS's quotas, on a fake clock: a discrete-event simulation, no sleeping.

Each user asks for an upload link, submits one upscale, follows the run by polling at the web app's
fastest pace until it ends, reads the history page, waits a little and starts again. Every request costs the
AWS calls counted by :mod:`tests.unit.capacity.aws_calls`; every quota is a token bucket (or, for
Lambda, a count of invocations in flight) on the same fake clock. The report gives, per quota, the
busiest second's demand against the quota's sustained rate.

The durations of a run's steps are assumptions (below, in one place), not measurements: they set how
long users poll, which is what loads the API stage.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.unit.capacity.aws_calls import (
    JOB_STATE_CHANGE,
    LIST_HISTORY,
    POLL_FINISHED,
    POLL_RUNNING,
    POLL_UNCHANGED,
    RECORD_RESULT,
    SUBMIT,
    UPLOAD_LINK,
    VALIDATE_INPUT,
    Calls,
    MeasuredRun,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
POLL_TS = REPO_ROOT / "frontend" / "src" / "lib" / "poll.ts"
API_VARIABLES_TF = REPO_ROOT / "iac" / "modules" / "api" / "variables.tf"


# --- the facts, each read from the one file that sets it ------------------------------------------------


def fastest_poll_interval_s(text: str | None = None) -> float:
    """The web app's fastest pace, ``MOVING_POLL_MS`` in frontend/src/lib/poll.ts: its pace adapts (slower
    while queued, after unchanged answers and errors), never faster than this, so users polling at it
    all the time are the most load the pace can send."""
    source = text if text is not None else POLL_TS.read_text(encoding="utf-8")
    found = re.search(r"\bMOVING_POLL_MS\s*=\s*(\d+(?:_\d+)*)", source)
    if found is None:
        raise ValueError(f"no MOVING_POLL_MS in {POLL_TS}")
    return int(found.group(1).replace("_", "")) / 1000


def terraform_default(name: str, text: str | None = None) -> float:
    """A variable's default in iac/modules/api/variables.tf (the stage throttle)."""
    source = text if text is not None else API_VARIABLES_TF.read_text(encoding="utf-8")
    block = re.search(rf'variable\s+"{name}"\s*\{{(.*?)\n\}}', source, re.S)
    default = re.search(r"default\s*=\s*([0-9.]+)", block.group(1)) if block else None
    if default is None:
        raise ValueError(f"no default for {name} in {API_VARIABLES_TF}")
    return float(default.group(1))


# --- AWS quotas (defaults; they differ by region and account, see docs/capacity.md) ---------------------


@dataclass(frozen=True)
class Quota:
    name: str
    bucket: float  # burst: tokens the bucket holds
    rate: float  # sustained: tokens per second (for Lambda: concurrent executions)
    kind: str = "bucket"  # "bucket" or "concurrency"


STAGE = "API Gateway stage throttle"
LAMBDA = "Lambda concurrent executions"
START_EXECUTION = "Step Functions StartExecution"
STATE_TRANSITION = "Step Functions StateTransition"
DESCRIBE_EXECUTION = "Step Functions DescribeExecution"
GET_EXECUTION_HISTORY = "Step Functions GetExecutionHistory"
SUBMIT_JOB = "Batch SubmitJob"
PARTITION_WRITES = "DynamoDB writes per partition key"

# us-east-1 defaults of a standard-workflow account (Step Functions developer guide, "Step Functions
# service quotas"; Batch user guide, "Service quotas"; DynamoDB developer guide, partitions). The
# stage throttle is ours (Terraform), read by :func:`shipped_quotas`.
AWS_QUOTAS = {
    LAMBDA: Quota(LAMBDA, 1000, 1000, "concurrency"),
    START_EXECUTION: Quota(START_EXECUTION, 1300, 300),
    STATE_TRANSITION: Quota(STATE_TRANSITION, 5000, 5000),
    DESCRIBE_EXECUTION: Quota(DESCRIBE_EXECUTION, 250, 15),
    GET_EXECUTION_HISTORY: Quota(GET_EXECUTION_HISTORY, 400, 20),
    SUBMIT_JOB: Quota(SUBMIT_JOB, 50, 50),
    PARTITION_WRITES: Quota(PARTITION_WRITES, 1000, 1000),  # write units per second, per partition key
}


def shipped_quotas(stage_rate: float | None = None, stage_burst: float | None = None) -> dict[str, Quota]:
    rate = stage_rate if stage_rate is not None else terraform_default("throttling_rate_limit")
    burst = stage_burst if stage_burst is not None else terraform_default("throttling_burst_limit")
    return {STAGE: Quota(STAGE, burst, rate), **AWS_QUOTAS}


# --- the fake clock and the buckets ---------------------------------------------------------------------


class FakeClock:
    """Time that moves only when the next event is taken: the simulation never sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0

    def at(self, when: float, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, self._seq, action))

    def run_until(self, end: float) -> None:
        while self._events and self._events[0][0] <= end:
            self.now, _, action = heapq.heappop(self._events)
            action()
        self.now = end


class TokenBucket:
    """AWS's throttling scheme: ``bucket`` tokens at most, ``rate`` more each second, one per call."""

    def __init__(self, clock: FakeClock, bucket: float, rate: float) -> None:
        self.clock, self.bucket, self.rate = clock, bucket, rate
        self.tokens, self.stamp = bucket, clock.now

    def take(self, n: float = 1) -> bool:
        self.tokens = min(self.bucket, self.tokens + (self.clock.now - self.stamp) * self.rate)
        self.stamp = self.clock.now
        if self.tokens < n:
            return False
        self.tokens -= n
        return True


@dataclass
class Meter:
    """Demand on one quota: per second of fake time (the busiest is the peak), and what was refused."""

    quota: Quota
    per_second: Counter[int] = field(default_factory=Counter)
    throttled: int = 0
    peak_in_flight: int = 0

    @property
    def peak(self) -> float:
        if self.quota.kind == "concurrency":
            return self.peak_in_flight
        return max(self.per_second.values(), default=0)

    @property
    def headroom(self) -> float:
        return math.inf if self.peak == 0 else self.quota.rate / self.peak


# --- the run's timeline (assumptions, fake seconds) -----------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    upload_s: float = 0.5  # the browser's POST to S3 between the upload link and the submit
    validate_after_s: float = 0.2  # StartExecution → ValidateInput starts
    validate_s: float = 1.0  # ValidateInput's duration (also RecordResult's)
    queued_s: float = 20.0  # RUNNABLE: waiting for a GPU host
    starting_s: float = 5.0  # STARTING: the container starts
    running_s: float = 20.0  # RUNNING: the model works; progress.json changes
    api_request_s: float = 0.1  # one API Lambda invocation
    status_change_s: float = 0.2  # one status-change invocation
    think_s: float = 5.0  # from seeing the result to the next upload
    users_start_over_s: float = 10.0  # users arrive spread over this long


@dataclass
class Report:
    meters: dict[str, Meter]
    requests: Counter[str]
    polls: int
    polls_failed: int
    states_reads_from_polls: int
    runs_finished: int
    duration_s: float

    def table(self) -> str:
        lines = [
            f"{'quota':<36} {'peak/s':>8} {'quota/s':>8} {'burst':>6} {'headroom':>9} {'throttled':>9}",
        ]
        for name, meter in self.meters.items():
            unit = "" if meter.quota.kind == "bucket" else " (in flight)"
            headroom = "inf" if math.isinf(meter.headroom) else f"{meter.headroom:.1f}x"
            lines.append(
                f"{name + unit:<36} {meter.peak:>8.0f} {meter.quota.rate:>8.0f} {meter.quota.bucket:>6.0f} "
                f"{headroom:>9} {meter.throttled:>9}"
            )
        lines.append(
            f"{self.polls} polls ({self.polls_failed} failed), {self.runs_finished} runs finished in "
            f"{self.duration_s:.0f} s; Step Functions reads from polls: {self.states_reads_from_polls}"
        )
        lines.append("calls per second by API (mean over the run):")
        for kind, n in sorted(self.requests.items()):
            lines.append(f"  {kind:<60} {n / self.duration_s:>8.1f}")
        return "\n".join(lines)


def simulate(
    measured: MeasuredRun,
    users: int,
    quotas: dict[str, Quota],
    poll_interval_s: float,
    duration_s: float = 300.0,
    timeline: Timeline = Timeline(),
    costs: dict[str, Calls] | None = None,
) -> Report:
    """``users`` virtual users for ``duration_s`` fake seconds; ``costs`` may replace the measured calls."""
    costs = costs if costs is not None else measured.calls
    clock = FakeClock()
    meters = {name: Meter(quota) for name, quota in quotas.items()}
    buckets = {name: TokenBucket(clock, q.bucket, q.rate) for name, q in quotas.items() if q.kind == "bucket"}
    partitions: dict[str, TokenBucket] = {}
    lambda_ends: list[float] = []
    requests: Counter[str] = Counter()
    tally = {"polls": 0, "failed": 0, "states_reads": 0, "finished": 0}
    states_read_quota = {"DescribeExecution": DESCRIBE_EXECUTION, "GetExecutionHistory": GET_EXECUTION_HISTORY}

    def spend(name: str, n: float = 1, bucket: TokenBucket | None = None) -> bool:
        if name not in meters:
            return True
        meters[name].per_second[int(clock.now)] += int(n)
        if (bucket or buckets[name]).take(n):
            return True
        meters[name].throttled += 1
        return False

    def invoke_lambda(seconds: float) -> None:
        while lambda_ends and lambda_ends[0] <= clock.now:
            heapq.heappop(lambda_ends)
        heapq.heappush(lambda_ends, clock.now + seconds)
        meter = meters[LAMBDA]
        meter.peak_in_flight = max(meter.peak_in_flight, len(lambda_ends))
        if len(lambda_ends) > meter.quota.rate:
            meter.throttled += 1

    def aws_calls(user: int, kind: str) -> bool:
        calls = costs[kind]
        ok = True
        for (service, operation), n in calls.by_api.items():
            requests[f"{service}:{operation}"] += n
            if service == "stepfunctions" and operation == "StartExecution":
                ok &= spend(START_EXECUTION, n)
            elif service == "stepfunctions" and operation in states_read_quota:
                ok &= spend(states_read_quota[operation], n)
        for partition, units in calls.writes_by_partition.items():
            key = f"USER#{user}" if partition == "USER#" else partition
            bucket = partitions.setdefault(key, TokenBucket(clock, *_bucket_of(quotas[PARTITION_WRITES])))
            ok &= spend(PARTITION_WRITES, units, bucket)
        return ok

    def api(user: int, kind: str) -> bool:
        requests[kind] += 1
        if not spend(STAGE):
            return False  # 429 from API Gateway: the app never runs
        invoke_lambda(timeline.api_request_s)
        return aws_calls(user, kind)

    def run_lambda(user: int, kind: str, seconds: float) -> None:
        requests[kind] += 1
        invoke_lambda(seconds)
        aws_calls(user, kind)

    path, t = measured.path, timeline

    def start_run(user: int) -> None:
        api(user, UPLOAD_LINK)
        clock.at(clock.now + t.upload_s, lambda: submit(user))

    def submit(user: int) -> None:
        if not api(user, SUBMIT):
            clock.at(clock.now + poll_interval_s, lambda: submit(user))  # the web app offers to retry
            return
        began = clock.now
        job_at = began + t.validate_after_s + t.validate_s
        record_at = job_at + t.queued_s + t.starting_s + t.running_s
        changes = sorted(
            {began, began + t.validate_after_s, job_at, job_at + t.queued_s, job_at + t.queued_s + t.starting_s}
        )
        # ValidateInput, ChooseOperation, the job's task: the transitions before the job; the rest after.
        before_job = path.states_entered.index(path.lambda_tasks[-1])
        clock.at(began + t.validate_after_s, lambda: run_lambda(user, VALIDATE_INPUT, t.validate_s))
        clock.at(began + t.validate_after_s, lambda: spend(STATE_TRANSITION, before_job))
        clock.at(job_at, lambda: spend(SUBMIT_JOB, path.batch_jobs))
        offsets = [0.0, t.queued_s, t.queued_s + t.starting_s]
        # One invocation per job state the EventBridge rule sends (RUNNABLE, STARTING, RUNNING).
        for offset in offsets[: len(measured.job_states)]:
            clock.at(job_at + offset, lambda: run_lambda(user, JOB_STATE_CHANGE, t.status_change_s))
        clock.at(record_at, lambda: run_lambda(user, RECORD_RESULT, t.validate_s))
        clock.at(record_at, lambda: spend(STATE_TRANSITION, path.state_transitions - before_job))
        running = (job_at + t.queued_s + t.starting_s, record_at)
        ended = record_at + t.validate_s
        clock.at(began + poll_interval_s, lambda: poll(user, began, changes, running, ended))

    def poll(user: int, last: float, changes: list[float], running: tuple[float, float], ended: float) -> None:
        now = clock.now
        if now >= ended:
            kind = POLL_FINISHED
        elif running[0] <= now < running[1] or any(last < c <= now for c in changes):
            kind = POLL_RUNNING  # progress.json moves while the job runs: a new body
        else:
            kind = POLL_UNCHANGED
        tally["polls"] += 1
        tally["states_reads"] += costs[kind].states_reads()
        if not api(user, kind):
            tally["failed"] += 1
        elif kind == POLL_FINISHED:
            tally["finished"] += 1
            api(user, LIST_HISTORY)
            clock.at(now + t.think_s, lambda: start_run(user))
            return
        clock.at(now + poll_interval_s, lambda: poll(user, now, changes, running, ended))

    for user in range(users):
        clock.at(user * t.users_start_over_s / users, lambda user=user: start_run(user))  # type: ignore[misc]
    clock.run_until(duration_s)
    return Report(
        meters=meters,
        requests=requests,
        polls=tally["polls"],
        polls_failed=tally["failed"],
        states_reads_from_polls=tally["states_reads"],
        runs_finished=tally["finished"],
        duration_s=duration_s,
    )


def _bucket_of(quota: Quota) -> tuple[float, float]:
    return quota.bucket, quota.rate
