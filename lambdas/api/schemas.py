"""The API's request and response bodies (they also make the OpenAPI schema at /docs)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aiorch.contracts import Operation

UploadContentType = Literal["image/jpeg", "image/png", "image/webp", "image/tiff", "image/bmp"]

# Ids and keys travel in URLs and storage keys: the key layout's characters only.
ID_PATTERN = r"^[A-Za-z0-9._@+=-]{1,128}$"


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: UploadContentType = Field(description="The image's media type.")


class UploadTargetOut(BaseModel):
    url: str = Field(description="POST the form here: `fields` first, then the image as `file`.")
    method: Literal["POST"] = "POST"
    fields: dict[str, str]
    file_field: Literal["file"] = "file"
    max_bytes: int
    content_type: str
    expires_at: int = Field(description="Unix seconds.")
    upload: str | None = Field(
        description="The upload's key when known in advance (S3); otherwise the upload's response has it."
    )


class UploadOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    upload: str = Field(description="The key to pass as `upload` (or `mask`) to POST /image-ai-analysis.")


class AnalysisIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation: Operation
    upload: str = Field(min_length=1, max_length=1024, description="The uploaded image's key.")
    mask: str | None = Field(
        default=None, min_length=1, max_length=1024, description="inpaint: a painted mask's upload key."
    )
    options: dict[str, Any] = Field(default_factory=dict, description="The operation's options.")


class SubmittedOut(BaseModel):
    execution_id: str
    status: str
    operation: str
    created_at: str
    links: dict[str, str]


class ProgressOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    stage: str | None = None
    done: int = 0
    total: int = 0
    percent: float = 0.0


class ResultOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    job: str
    key: str
    content_type: str | None = None
    url: str = Field(description="An expiring download link.")


class ExecutionOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    execution_id: str
    operation: str
    status: str
    current_state: str | None = None
    progress: ProgressOut | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    error: dict[str, Any] | None = None
    results: list[ResultOut] = Field(default_factory=list)
    metadata: dict[str, Any] | list[Any] | None = None
    input_url: str | None = Field(default=None, description="An expiring link to the original image.")


class ExecutionPage(BaseModel):
    items: list[ExecutionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class EventsOut(BaseModel):
    execution_id: str
    events: list[dict[str, Any]]


class TokensOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    access_token: str
    id_token: str | None = None
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    user: str


class HealthOut(BaseModel):
    status: Literal["ok"]
    auth: Literal["local", "cognito"]
    storage: Literal["local", "s3"]


class NamedQuery(BaseModel):
    name: str
    description: str


class NamedQueries(BaseModel):
    queries: list[NamedQuery]


class QueryRun(BaseModel):
    """A started named query: poll answer_url until it answers (200) instead of 202."""

    name: str
    query_id: str
    state: Literal["RUNNING"]
    answer_url: str


class QueryAnswer(BaseModel):
    name: str
    query_id: str
    state: Literal["SUCCEEDED"]
    columns: list[str]
    rows: list[dict[str, Any]]
