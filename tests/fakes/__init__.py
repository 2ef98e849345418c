"""Fakes for testing the local states service: Lambda handlers, a job CLI and API fault injection.

They stand in for ``lambdas/`` and ``jobs/`` so the orchestration can be tested
on its own. Every call is appended to ``<data_dir>/fake_calls.jsonl`` so a test
can see what the service really did.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from aiorch.settings import Settings, get_settings

_lock = threading.Lock()


def calls_path(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "fake_calls.jsonl"


def record_call(kind: str, **fields: Any) -> None:
    line = json.dumps({"kind": kind, "at": time.time(), "pid": os.getpid(), **fields}, default=str) + "\n"
    path = calls_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, open(path, "a", encoding="utf-8") as out:
        out.write(line)


def read_calls(settings: Settings, kind: str | None = None) -> list[dict[str, Any]]:
    try:
        lines = calls_path(settings).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    calls = [json.loads(line) for line in lines if line.strip()]
    return [c for c in calls if kind is None or c["kind"] == kind]
