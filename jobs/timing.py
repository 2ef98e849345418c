"""A job's timings_s (JobClock) and the process start time it counts start-up from."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class JobClock:
    """The job's timings_s: separate figures for start-up, imports, decode, model load, model and encode.

    ``origin`` is the runner's spawn time (or the process start) when known: a process cannot time its
    own start, so start-up is ``entered - origin``, and ``total`` runs from ``origin`` (else from
    ``entered``) to the metadata. The parts never overlap, so their sum is at most ``total``.
    """

    origin: float | None  # epoch s
    entered: float  # epoch s: main() began
    stages: dict[str, float]

    @classmethod
    def starting(cls, origin: float | None, entered: float) -> JobClock:
        # A spawn time after entry (clocks of two processes agree on one machine; guard anyway) is unusable.
        return cls(origin if origin is not None and origin <= entered else None, entered, {})

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - started

    def timings(self, operation_timings: dict[str, Any]) -> dict[str, Any]:
        """timings_s for the metadata; ``operation_timings`` are the operation's own (load_model, model, ...)."""
        run_s = self.stages.pop("operation", 0.0)
        load_s = _seconds(operation_timings.get("load_model"), 0.0)
        model_s = _seconds(operation_timings.get("model"), max(0.0, run_s - load_s))
        detail = {k: round(_seconds(v, 0.0), 4) for k, v in operation_timings.items() if k not in _OWN_TIMINGS}
        ended = time.time()
        start = self.origin if self.origin is not None else self.entered
        return {
            "startup": None if self.origin is None else round(self.entered - self.origin, 4),
            "imports": round(self.stages.get("imports", 0.0), 4),
            "decode": round(self.stages.get("decode", 0.0), 4),
            "load_model": round(load_s, 4),
            "model": round(model_s, 4),
            "encode": round(self.stages.get("encode", 0.0), 4),
            "total": round(ended - start, 4),
            "total_from": "spawn" if self.origin is not None else "job start (spawn time unknown)",
            "detail": {**detail, "operation": round(run_s, 4)},
        }


# The operation's timings that JobClock.timings places itself; the rest go under "detail".
_OWN_TIMINGS = frozenset({"load_model", "model"})


def _seconds(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def process_start_time() -> float | None:
    """When this process started (epoch s), from /proc: its start in clock ticks after boot.

    Used for timings_s.startup when no runner passed a spawn time (AWS Batch starts the container's
    process itself). None where /proc is not readable.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        started_after_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of proc(5)
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_after_boot
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return time.time() - age if age >= 0 else None
