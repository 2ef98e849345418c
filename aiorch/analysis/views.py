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
    elapsed_s: float | None = Field(default=None, description="Since the start (to the end once ended).")
    # At the current stage's tile rate.
    remaining_s: float | None = Field(default=None, description="Left in the current job stage; null: unknown.")


class ErrorView(BaseModel):
    type: str
    message: str = Field(description="Why it failed, in plain words.")


class ResultLink(BaseModel):
    job: str
    key: str
    content_type: str
    filename: str = Field(description="The name it downloads as (the link's Content-Disposition), after the original.")


class ThumbnailLink(BaseModel):
    """The final job's thumbnail.webp (at most 256 px), for galleries: never the full result."""

    key: str
    width: int = Field(description="At most 256 px, like the height; the result's aspect ratio.")
    height: int


class ImageView(BaseModel):
    """One image of a batch: where it is (PENDING, RUNNING, SUCCEEDED, FAILED, or the batch's own end
    for an image that never finished), its job's progress while it runs, its results or its error."""

    index: int
    input_key: str
    original_name: str | None = None
    status: str = Field(description="PENDING, RUNNING, SUCCEEDED, FAILED, or the batch's end for an unfinished one.")
    percent: float = 0.0
    stage: str | None = None
    results: list[ResultLink] = Field(default_factory=list)
    error: ErrorView | None = None
    thumbnail: ThumbnailLink | None = Field(default=None, description="Its job's thumbnail.webp, once it succeeded.")


class ExecutionView(BaseModel):
    execution_id: str
    operation: str
    status: ExecutionStatus
    current_state: str | None = None
    # Written by the execution's own steps to its index record (aiorch/index/stages.py); the web app
    # says from it what a run waits for.
    stage: str | None = Field(
        default=None,
        description="Where a running execution is, in plain words: 'queued to validate', 'validating', "
        "'queued for a GPU', 'running <job>', 'recording'; null once it has ended.",
    )
    stage_at: datetime | None = Field(default=None, description="When the stage was last written; null with it.")
    progress: ProgressView = Field(default_factory=ProgressView)
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    input_key: str
    # Sanitised.
    original_name: str | None = Field(default=None, description="The upload's own file name, when it was given.")
    mask_key: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    error: ErrorView | None = None
    results: list[ResultLink] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Each job's metadata.json, by job.")
    # None also for older executions and fakes, whose jobs wrote none.
    thumbnail: ThumbnailLink | None = Field(
        default=None,
        description="The final job's thumbnail.webp (at most 256 px), for galleries; null when it wrote none.",
    )
    images: list[ImageView] = Field(default_factory=list, description="A batch's images, in order (else empty).")
    # The final job's metadata.json "outcome".
    outcome: str | None = Field(
        default=None,
        description="What the result is, in plain words, when it is not simply the operation's change "
        "(remove text on a photo without text: 'No text found: nothing changed'); null otherwise.",
    )
    # The final job's metadata.json "unchanged".
    unchanged: bool = Field(default=False, description="true: the result is the input as it was.")
    retry_of: str | None = Field(default=None, description="The execution this one retries (POST .../retry).")
    retried_by: list[str] = Field(default_factory=list, description="The executions retrying this one, oldest first.")
    estimated_cost_usd: float | None = Field(
        default=None, description="What it was expected to cost at submit (charged to the month's budget then)."
    )
    # Its jobs' device seconds at their price.
    cost: RunCost | None = Field(default=None, description="What it cost, once recorded; null before, or unknown.")

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
