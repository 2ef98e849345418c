"""The execution index interface: one record per execution, keyed by user and execution id.

Two backends share these semantics (aiorch/index/sqlite.py locally, aiorch/index/dynamodb.py in AWS):

- ``start`` creates a RUNNING record and raises the user's running count in ONE transaction that
  refuses to pass the limit, so concurrent submits cannot overshoot it (the old count-then-create
  was a race). With an Idempotency-Key the claim is written in the same transaction, so a repeated
  key always finds its record.
- ``finalise`` moves a RUNNING record to a final status and lowers the count in one transaction;
  a record already final is left as it is (the first recorder wins).
- ``page`` reads one page by key, newest first (ULIDs sort by time), never the whole partition.
- ``sweep`` recomputes each user's count from the RUNNING records and corrects (and reports) drift.
- ``delete`` removes a final record (the user's "delete from history") with its Idempotency-Key claim,
  and leaves a tombstone, so a recorder or status change arriving late never brings it back (``create``
  refuses a deleted id).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

from aiorch.contracts import ExecutionRecord, Outcome, RunCost, utcnow


class RunningLimitReached(Exception):
    """The user already has ``limit`` executions running: nothing was written."""

    def __init__(self, user: str, limit: int) -> None:
        super().__init__(f"{user} already has {limit} executions running")
        self.user = user
        self.limit = limit


class QueueFull(Exception):
    """Admitting the execution would pass a bound on queued images (``scope``: "user", that user's;
    "all", everyone's): nothing was written. ``queued`` is what was queued before it."""

    def __init__(self, scope: str, queued: int, limit: int) -> None:
        super().__init__(f"{queued} images queued ({scope}); the bound is {limit}")
        self.scope = scope
        self.queued = queued
        self.limit = limit


class BudgetSpent(Exception):
    """Charging the run's estimate would take the user's spending in ``month`` past ``limit_usd``:
    nothing was written. ``spent_usd`` is what was charged before it."""

    def __init__(self, user: str, month: str, spent_usd: float, estimate_usd: float, limit_usd: float) -> None:
        super().__init__(
            f"{user} spent ${spent_usd:.4f} of ${limit_usd:.2f} in {month}; the run needs ${estimate_usd:.4f}"
        )
        self.user = user
        self.month = month
        self.spent_usd = spent_usd
        self.estimate_usd = estimate_usd
        self.limit_usd = limit_usd


@dataclass(frozen=True)
class Budget:
    """A user's monthly budget: ``start`` charges the record's ``estimated_cost_usd`` to ``month``
    (``YYYY-MM``, UTC) and refuses when it would pass ``limit_usd`` (0: unlimited, still charged)."""

    month: str
    limit_usd: float = 0.0


# Sums of float dollars drift in their last bits: a run that fits exactly must not be refused for that.
BUDGET_SLACK_USD = 1e-9


def spend_adjustment(record: ExecutionRecord, cost: RunCost | None) -> float:
    """What ending ``record`` with ``cost`` adds to its month's spending: the cost recorded, less the
    estimate ``start`` charged (a run that cost nothing, a failed one before its job, gives it back)."""
    return (cost.usd if cost is not None else 0.0) - (record.estimated_cost_usd or 0.0)


@dataclass(frozen=True)
class QueueBounds:
    """Bounds on the images of RUNNING executions (queued or at work); 0: unlimited."""

    per_user: int = 0
    overall: int = 0


def images_of(record: ExecutionRecord) -> int:
    """The images an execution queues: a batch's each, else one."""
    return max(1, len(record.input_keys))


class StillRunning(Exception):
    """Only a final execution can be deleted: a running one is cancelled first."""


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was claimed before by a request with another fingerprint."""


@dataclass(frozen=True)
class Started:
    record: ExecutionRecord
    created: bool  # False: the Idempotency-Key had been used; ``record`` is the earlier execution


@dataclass(frozen=True)
class Drift:
    user: str
    counted: int  # what the counter said
    actual: int  # RUNNING records found


def staged_copy(record: ExecutionRecord, state: str, stage: str) -> ExecutionRecord:
    """The record with its new stage (one rule for both backends)."""
    staged = record.model_copy(deep=True)
    staged.current_state = state
    staged.stage = stage
    staged.stage_at = utcnow()
    return staged


def finalised_copy(record: ExecutionRecord, outcome: Outcome) -> ExecutionRecord:
    """The record as a final status leaves it (one rule for both backends)."""
    done = record.model_copy(deep=True)
    if outcome.cost is not None:
        done.cost = outcome.cost
    done.status = outcome.status
    done.finished_at = utcnow()
    done.recorded_by = outcome.recorded_by
    if outcome.result_keys is not None:
        done.result_keys = outcome.result_keys
    if outcome.metadata_keys is not None:
        done.metadata_keys = outcome.metadata_keys
    if outcome.images is not None:
        done.images = outcome.images
    done.error_type = outcome.error_type
    done.error_message = outcome.error_message
    return done


class ExecutionIndex(ABC):
    @abstractmethod
    def start(
        self,
        record: ExecutionRecord,
        *,
        limit: int,
        idempotency: tuple[str, str] | None = None,
        queue: QueueBounds | None = None,
        budget: Budget | None = None,
    ) -> Started:
        """Create ``record`` (RUNNING) and count it (and its images), atomically; ``idempotency`` is
        (key, fingerprint); ``queue`` bounds the images of RUNNING executions, the user's and everyone's;
        ``budget`` charges the record's ``estimated_cost_usd`` to the user's month, in the same transaction.

        Raises RunningLimitReached, QueueFull or BudgetSpent (nothing written), or IdempotencyKeyReused."""

    @abstractmethod
    def create(self, record: ExecutionRecord) -> bool:
        """Store a record started outside ``start`` (e.g. from the console); False when it exists.

        A RUNNING one is counted but never refused: it is already running."""

    @abstractmethod
    def get(self, user: str, execution_id: str) -> ExecutionRecord | None: ...

    @abstractmethod
    def finalise(self, user: str, execution_id: str, outcome: Outcome) -> tuple[ExecutionRecord | None, bool]:
        """Mark an execution finished (a batch with its images' outcomes) with what it cost, and settle
        its month's spending (the cost replaces the estimate charged at start). Returns (record,
        changed); a final record stays as it is."""

    @abstractmethod
    def set_stage(self, user: str, execution_id: str, *, state: str, stage: str) -> bool:
        """Record where a RUNNING execution is (aiorch/index/stages.py); False when there is no
        record or it has ended (a late stage never overwrites a final record)."""

    @abstractmethod
    def delete(self, user: str, execution_id: str) -> ExecutionRecord | None:
        """Remove a final record and its Idempotency-Key claim, leaving a tombstone; returns the removed
        record, None when there was none. Raises StillRunning (nothing changed) for a RUNNING one."""

    @abstractmethod
    def page(self, user: str, limit: int, before: str | None = None) -> tuple[list[ExecutionRecord], str | None]:
        """Up to ``limit`` records older than execution id ``before``, newest first, and the next cursor."""

    @abstractmethod
    def running(self) -> Iterator[ExecutionRecord]:
        """Every RUNNING record of every user (the watchdog and the sweep), read from a status index."""

    @abstractmethod
    def running_count(self, user: str) -> int:
        """The user's counter (what ``start`` checks)."""

    @abstractmethod
    def queued_images(self, user: str | None = None) -> int:
        """Images of RUNNING executions: the user's, or everyone's (None); what ``queue`` bounds."""

    @abstractmethod
    def spent_usd(self, user: str, month: str) -> float:
        """What the user's runs of ``month`` (``YYYY-MM``) cost, with the estimates of those still running."""

    @abstractmethod
    def sweep(self) -> list[Drift]:
        """Recompute every counter from the RUNNING records; correct and return the drift found."""
