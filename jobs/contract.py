"""What every operation module promises the job CLI.

The job CLI (jobs/cli.py, jobs/pipeline.py) decodes the input, calls one operation with a float32
RGB array and a progress callback, then encodes the result and writes
``result.<ext>`` and ``metadata.json``. Operations never touch storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class Progress(Protocol):
    """Report progress; the CLI turns it into progress.json ({stage, done, total})."""

    def __call__(self, stage: str, done: int, total: int) -> None: ...


class JobFailure(Exception):
    """A failure with a plain-words message for the user (written to error.json)."""

    def __init__(self, message: str, type_: str = "JobFailed") -> None:
        super().__init__(message)
        self.type = type_
        self.message = message


@dataclass
class OperationOutput:
    """An operation's result.

    ``image`` is float32 HxWx3 RGB in [0, 1] (or HxW for masks).
    ``metadata`` names what really ran: model, weights and their sha256 or
    "fallback: <algorithm>", device, precision, tile size, timings (seconds).
    """

    image: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    extra_files: dict[str, bytes] = field(default_factory=dict)  # e.g. {"text.json": ..., "mask.png": ...}


def no_progress(stage: str, done: int, total: int) -> None:
    """A Progress that reports nowhere (tests, benchmarks)."""
