"""What the service answers: the view models the CLI prints and the API serialises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from aiorch.contracts import ExecutionStatus, RunCost


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


class ThumbnailLink(BaseModel):
    """The final job's thumbnail.webp (at most 256 px), for galleries: never the full result."""

    key: str
    width: int
    height: int


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
    thumbnail: ThumbnailLink | None = None  # its job's thumbnail.webp, once it succeeded


class ExecutionView(BaseModel):
    execution_id: str
    operation: str
    status: ExecutionStatus
    current_state: str | None = None
    # Where a RUNNING execution is, in the plain words its steps wrote to its index record
    # (aiorch/index/stages.py: "queued for a GPU", "running upscale", "recording"), and when that was
    # written; None once it has ended. The web app says from it what a run waits for.
    stage: str | None = None
    stage_at: datetime | None = None
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
    thumbnail: ThumbnailLink | None = None  # None when the job wrote none (older executions, fakes)
    images: list[ImageView] = Field(default_factory=list)  # a batch's images, in order
    # What the result is, in plain words, when it is not simply the operation's change: the final job's
    # metadata.json "outcome" (inpaint without text: "No text found: nothing changed"); None otherwise.
    outcome: str | None = None
    unchanged: bool = False  # the final job returned the input as it was (its metadata's "unchanged")
    retry_of: str | None = None  # the execution this one retries
    retried_by: list[str] = Field(default_factory=list)  # the executions retrying this one, oldest first
    estimated_cost_usd: float | None = None  # what it was expected to cost at submit
    cost: RunCost | None = None  # what it cost, once recorded (its jobs' device seconds at their price)

    def thumbnail_beside_results(self) -> ThumbnailLink | None:
        """The thumbnail the final job wrote beside its result, as its metadata.json names it; a batch's
        is its first image's that has one."""
        if self.images:
            return next((i.thumbnail for i in self.images if i.thumbnail is not None), None)
        if not self.results:
            return None
        return thumbnail_named_in(self.results[0].key, self.metadata.get(self.results[0].job))


def thumbnail_named_in(result_key: str, job_metadata: Any) -> ThumbnailLink | None:
    """The thumbnail beside ``result_key``, as its job's metadata.json names it (None when it names none)."""
    folder, _ = result_key.rsplit("/", 1)
    entry = job_metadata.get("thumbnail") if isinstance(job_metadata, dict) else None
    if not isinstance(entry, dict):
        return None
    name, width, height = entry.get("file"), entry.get("width"), entry.get("height")
    if not (isinstance(name, str) and name and "/" not in name):
        return None
    if not (isinstance(width, int) and isinstance(height, int)):
        return None
    return ThumbnailLink(key=f"{folder}/{name}", width=width, height=height)
