"""progress.json: the job's live {stage, done, total}, written through storage a few times a second at most."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiorch.contracts import JobProgress, utcnow
from aiorch.storage import Storage


class ProgressWriter:
    """A ``jobs.contract.Progress`` that writes progress.json, throttled.

    A write happens when the stage changes, when a stage completes
    (done == total), or when ``min_interval_s`` has passed since the last one;
    other updates are dropped, because readers only need the latest state.
    """

    def __init__(
        self,
        storage: Storage,
        key: str,
        min_interval_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.key = key
        self.min_interval_s = min_interval_s
        self.clock = clock
        self.last: JobProgress | None = None
        self._stage_started_at = utcnow()
        self._last_write_at: float | None = None
        self.writes = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.last is None or stage != self.last.stage:
            self._stage_started_at = utcnow()
        progress = JobProgress(
            stage=stage, done=max(0, int(done)), total=max(0, int(total)), stage_started_at=self._stage_started_at
        )
        now = self.clock()
        due = (
            self.last is None
            or progress.stage != self.last.stage
            or progress.done >= progress.total
            or self._last_write_at is None
            or now - self._last_write_at >= self.min_interval_s
        )
        self.last = progress
        if due:
            self._write(progress, now)

    def _write(self, progress: JobProgress, now: float) -> None:
        self.storage.put_json(self.key, progress.model_dump(mode="json"))
        self._last_write_at = now
        self.writes += 1
