"""What the service answers: the view models the CLI prints and the API serialises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from aiorch.contracts import ExecutionStatus


class UploadInfo(BaseModel):
    key: str
    width: int
    height: int
    format: str
    bytes: int
    original_name: str | None = None  # sanitised; results download under names made from it


class ProgressView(BaseModel):
    stage: str | None = None
    done: int = 0
    total: int = 0
    percent: float = 0.0
    elapsed_s: float | None = None  # since the execution started (to its end once it has ended)
    remaining_s: float | None = None  # left in the current job stage at its tile rate; None while unknown


class ErrorView(BaseModel):
    type: str
    message: str


class ResultLink(BaseModel):
    job: str
    key: str
    content_type: str
    filename: str  # the name it downloads as (Content-Disposition), after the original when known


class ImageView(BaseModel):
    """One image of a batch: where it is (PENDING, RUNNING, SUCCEEDED, FAILED, or the batch's own end
    for an image that never finished), its job's progress while it runs, its results or its error."""

    index: int
    input_key: str
    original_name: str | None = None
    status: str
    percent: float = 0.0
    stage: str | None = None
    results: list[ResultLink] = Field(default_factory=list)
    error: ErrorView | None = None


class ExecutionView(BaseModel):
    execution_id: str
    operation: str
    status: ExecutionStatus
    current_state: str | None = None
    progress: ProgressView = Field(default_factory=ProgressView)
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    input_key: str
    original_name: str | None = None  # the upload's own file name, sanitised, when it was given
    mask_key: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    error: ErrorView | None = None
    results: list[ResultLink] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    images: list[ImageView] = Field(default_factory=list)  # a batch's images, in order
