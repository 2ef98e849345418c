"""progress.json: the job's live {stage, done, total}, written through storage a few times a second at most."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiorch.contracts import JobProgress, utcnow
from aiorch.storage import NotFound, Storage

log = logging.getLogger("jobs.progress")


class ProgressWriter:
    """A ``jobs.contract.Progress`` that writes progress.json, throttled.

    A write happens when the stage changes, when a stage completes
    (done == total), or when ``min_interval_s`` has passed since the last one;
    other updates are dropped, because readers only need the latest state.

    A retried attempt (Batch retries a job whose Spot host went away) finds the
    earlier attempt's progress.json: its own writes wait until it is as far
    again, so the percent a poll shows never falls back to "reading input".
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
        self.last: JobProgress | None = None  # the latest reported (written, or dropped by the throttle)
        self._stage: str | None = None
        self._stage_started_at = utcnow()
        self._last_write_at: float | None = None
        self._earlier: float | None = None  # how far an earlier attempt got (the job's 0..1), until reached
        self._earlier_read = False
        self.writes = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self._stage, self._stage_started_at = stage, utcnow()
        progress = JobProgress(
            stage=stage, done=max(0, int(done)), total=max(0, int(total)), stage_started_at=self._stage_started_at
        )
        now = self.clock()
        if not self._earlier_read:
            self._earlier_read = True
            self._earlier = self._earlier_attempt()
        if self._earlier is not None:
            from aiorch.analysis.progress import job_fraction  # the one formula; only a retried attempt needs it

            if job_fraction(progress) < self._earlier:
                return  # the earlier attempt's progress.json stays, further along
            self._earlier = None
            self.last = progress
            self._write(progress, now)
            return
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

    def _earlier_attempt(self) -> float | None:
        """How far (0..1) the progress.json already there got, if any: it was an earlier attempt's."""
        try:
            earlier = JobProgress.model_validate(self.storage.get_json(self.key))
        except NotFound:
            return None
        except Exception:  # unreadable: this attempt writes its own, as a first one would
            log.warning("the progress.json at %s could not be read; it is overwritten", self.key, exc_info=True)
            return None
        from aiorch.analysis.progress import job_fraction

        return job_fraction(earlier)

    def _write(self, progress: JobProgress, now: float) -> None:
        self.storage.put_json(self.key, progress.model_dump(mode="json"))
        self._last_write_at = now
        self.writes += 1
