"""A sliding-window limit per key (a user): at most ``limit`` events in any ``window_s`` seconds.

In one process only: the local server is one; in AWS each warm Lambda instance keeps its own
window, so the limit there is per instance (the Athena workgroup's scan cutoff bounds the cost).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """0 when the event may happen now (and it is counted); else seconds until it may."""
        if self.limit <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return events[0] + self.window_s - now
            events.append(now)
            return 0.0
