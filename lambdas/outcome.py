"""The event RecordResult and RecordFailure receive from the state machine.

Parameters in the definition: ``{"input.$": "$", "execution_arn.$": "$$.Execution.Id",
"started_at.$": "$$.Execution.StartTime"}``, so ``input`` is the whole state:
``request``, ``validated`` (absent if ValidateInput failed) and ``error`` (after a Catch).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from aiorch.contracts import AnalysisRequest, ValidatedRequest


class StateSnapshot(BaseModel):
    request: AnalysisRequest
    validated: ValidatedRequest | None = None
    error: dict[str, Any] | None = None


class OutcomeEvent(BaseModel):
    input: StateSnapshot
    execution_arn: str | None = None
    started_at: datetime | None = Field(default=None)
