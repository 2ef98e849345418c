"""Execution and upload ids: ULIDs, monotonic within this process.

ULIDs sort by time, which the history listing relies on; two ids made in the
same millisecond would sort randomly, so the second one is the first plus one.
"""

from __future__ import annotations

import threading

from ulid import ULID

_lock = threading.Lock()
_last = 0


def new_id() -> str:
    global _last
    with _lock:
        value = int.from_bytes(ULID().bytes, "big")
        if value >> 80 == _last >> 80 and value <= _last:  # same millisecond: keep order
            value = _last + 1
        _last = value
        return str(ULID.from_int(value))
