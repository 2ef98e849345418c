"""The API's request and response bodies (they also make the OpenAPI schema at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from aiorch.analysis.media import EXTENSION_FOR_CONTENT_TYPE
from aiorch.analysis.views import (
    ErrorView,
    ExecutionView,
    ImageView,
    ProgressView,
    ResultLink,
    ThumbnailLink,
    UploadInfo,
)
from aiorch.contracts import BATCH_MAX_IMAGES, Operation, RunCost
from aiorch.operations import Audience, OptionSpec, schema_for

# What the browser may upload (the media tables' types): refused with 415 otherwise, so the schema
# lists them as an enum while the field itself takes any string.
UPLOAD_CONTENT_TYPES = sorted(EXTENSION_FOR_CONTENT_TYPE)
UPLOAD_CONTENT_TYPE_SCHEMA: dict[str, Any] = {"enum": UPLOAD_CONTENT_TYPES}

# Ids and keys travel in URLs and storage keys: the key layout's characters only.
ID_PATTERN = r"^[A-Za-z0-9._@+=-]{1,128}$"


class FieldErrorOut(BaseModel):
    field: str = Field(description="Where in the request: `options.tile`, `query.limit`, ...")
    message: str


class ProblemOut(BaseModel):
    """Every error the API answers (RFC 9457, ``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str = Field(description="What went wrong, in plain words.")
    errors: list[FieldErrorOut] | None = Field(default=None, description="422: one entry per field.")
    retry_after_s: int | None = Field(default=None, description="429: as the Retry-After header.")


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: str = Field(
        max_length=255, description="The image's media type.", json_schema_extra=UPLOAD_CONTENT_TYPE_SCHEMA
    )
    filename: str | None = Field(
        default=None,
        max_length=1024,
        description="The file's own name: downloads of its results are named after it (photo.jpg gives "
        "photo-upscaled.png). Sanitised; optional.",
    )


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


class UploadOut(UploadInfo):
    upload: str = Field(description="The key to pass as `upload` (or `mask`) to POST /image-ai-analysis.")


def option_json_schema(spec: OptionSpec) -> dict[str, Any]:
    """One user option as JSON Schema: the same type, range and choices ``check_options`` applies
    (null, meaning the default, is allowed for every option)."""
    value: dict[str, Any]
    if spec.type == "boolean":
        value = {"type": "boolean"}
    elif spec.type == "choice":
        value = {"type": "string", "enum": list(spec.choices or [])}
    elif spec.type == "string":
        value = {"type": "string", "minLength": 1}
        if spec.pattern:
            value["pattern"] = f"^(?:{spec.pattern})$"  # the check is a full match
    else:
        value = {"type": spec.type}
        if spec.minimum is not None:
            value["exclusiveMinimum" if spec.exclusive_minimum else "minimum"] = spec.minimum
        if spec.maximum is not None:
            value["maximum"] = spec.maximum
    described: dict[str, Any] = {"anyOf": [value, {"type": "null"}], "description": spec.description}
    if spec.default is not None:
        described["default"] = spec.default
    return described


def options_json_schema(operation: Operation) -> dict[str, Any]:
    """The user options of one operation (aiorch.operations' schema) as a JSON Schema object."""
    options = [o for o in schema_for(operation).options if o.audience is Audience.user]
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {o.name: option_json_schema(o) for o in options},
        "description": f"The {operation.value} options (GET /operations serves them with their units).",
    }


def _one_variant_per_operation(schema: dict[str, Any]) -> None:
    """The body's document: one variant per operation, each with that operation's own options, so a
    client (and a fuzzer) sees which options each operation takes. The API checks them with
    ``check_options`` (400 naming the option), not through this schema."""
    variants = []
    for operation in Operation:
        variant = {key: value for key, value in schema.items() if key not in ("title", "description")}
        variant["properties"] = {
            **schema["properties"],
            "operation": {"type": "string", "const": operation.value},
            "options": options_json_schema(operation),
        }
        variant["title"] = f"{operation.value.capitalize()}In"
        if not schema_for(operation).accepts_mask:  # AnalysisIn.mask_only_where_taken holds the same rule
            del variant["properties"]["mask"]
        # One image (upload, and for inpaint an optional mask) or a batch (uploads, no mask); either one
        # given is never null (AnalysisIn.one_image_or_a_batch holds the same rules).
        for name in ("upload", "uploads"):
            given = schema["properties"][name]
            variant["properties"][name] = {
                **next(s for s in given["anyOf"] if s.get("type") != "null"),
                "description": given.get("description", ""),
            }
        variant["required"] = [r for r in variant.get("required", []) if r not in ("upload", "uploads")]
        # Said with ``not`` rather than a oneOf beside the properties: generators (openapi-python-client)
        # read an object with a oneOf as a union of its branches and lose the object's own fields.
        variant["not"] = {
            "anyOf": [
                {"required": ["upload", "uploads"]},
                {"required": ["uploads", "mask"]},
                {"not": {"anyOf": [{"required": ["upload"]}, {"required": ["uploads"]}]}},
            ]
        }
        variants.append(variant)
    kept: dict[str, Any] = {key: schema[key] for key in ("title", "description") if key in schema}
    schema.clear()
    schema.update(kept, oneOf=variants)


class WebhookIn(BaseModel):
    """Where to POST this execution's events (Standard Webhooks, signed with GET /webhooks/secret)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="https:// on a public address (locally also http:// to this machine).",
    )
    events: list[Literal["started", "progress", "completed"]] = Field(
        default=["completed"],
        min_length=1,
        max_length=3,
        description="Which events to send; `completed` carries the status and the result links.",
    )


class AnalysisIn(BaseModel):
    """What to run: an operation over an upload (and, for inpaint, a mask), or over a batch of uploads
    (one execution, one operation and options for all, each image its own result), with its options."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_variant_per_operation)

    operation: Operation
    upload: str | None = Field(default=None, min_length=1, max_length=1024, description="The uploaded image's key.")
    uploads: list[Annotated[str, Field(min_length=1, max_length=1024)]] | None = Field(
        default=None,
        min_length=1,
        max_length=BATCH_MAX_IMAGES,
        description="A batch: the uploaded images' keys (instead of upload; no mask).",
    )
    mask: str | None = Field(
        default=None, min_length=1, max_length=1024, description="inpaint: a painted mask's upload key."
    )
    options: dict[str, Any] = Field(default_factory=dict, description="The operation's options.")
    webhook: WebhookIn | None = Field(default=None, description="Optional: POST this execution's events here.")

    @field_validator("mask")
    @classmethod
    def mask_only_where_taken(cls, mask: str | None, info: ValidationInfo) -> str | None:
        """A mask given to an operation that reads none is refused here, naming the field, rather than
        accepted and failed by ValidateInput: the operation's schema says whether it takes one."""
        operation = info.data.get("operation")
        if mask is not None and operation is not None and not schema_for(operation).accepts_mask:
            takers = " or ".join(o.value for o in Operation if schema_for(o).accepts_mask)
            raise PydanticCustomError(
                "mask_not_taken",
                "{operation} takes no mask (only {takers} does): leave the mask out",
                {"operation": operation.value, "takers": takers},
            )
        return mask

    @model_validator(mode="after")
    def one_image_or_a_batch(self) -> AnalysisIn:
        given = self.model_fields_set
        if ("upload" in given) == ("uploads" in given):
            raise ValueError("give upload (one image) or uploads (a batch), not both")
        if ("upload" in given and self.upload is None) or ("uploads" in given and self.uploads is None):
            raise ValueError("upload is an upload's key and uploads a list of them, never null")
        if "uploads" in given and "mask" in given:
            raise ValueError("a mask belongs to one image: a batch takes no mask")
        return self


class SubmittedOut(BaseModel):
    execution_id: str
    status: str
    operation: str
    created_at: str
    links: dict[str, str]


# Answers list every field they carry, each always present (defaults included), so the generated
# TypeScript types (frontend/src/lib/api-types.ts) are exact.
ANSWER = ConfigDict(json_schema_serialization_defaults_required=True)


def as_in_view(view: type[BaseModel], name: str) -> Any:
    """The view's own field (default and description) for an answer that carries it with links added:
    only the type changes, so the fact stays defined once, in the view. (A list of the linked kind
    narrows the view's list, which mypy calls invariant: answers are built once and never appended to.)"""
    field = view.model_fields[name]
    if field.default_factory is not None:
        return Field(default_factory=field.default_factory, description=field.description)
    return Field(default=field.default, description=field.description)


class ProgressOut(ProgressView):
    model_config = ANSWER


class ResultOut(ResultLink):
    model_config = ANSWER

    url: str = Field(description="An expiring download link.")


class ThumbnailOut(ThumbnailLink):
    model_config = ANSWER

    url: str = Field(description="An expiring link to the WebP.")


class ErrorOut(ErrorView):
    model_config = ANSWER


class ImageOut(ImageView):
    """One image of a batch."""

    model_config = ANSWER

    results: list[ResultOut] = as_in_view(ImageView, "results")  # type: ignore[assignment]
    error: ErrorOut | None = as_in_view(ImageView, "error")
    thumbnail: ThumbnailOut | None = as_in_view(ImageView, "thumbnail")
    input_url: str | None = Field(default=None, description="An expiring link to this original image.")


class CostOut(RunCost):
    """What a run cost: its jobs' device seconds at the price per second of the machine they ran on."""

    model_config = ANSWER


class ExecutionOut(ExecutionView):
    """An execution as the API answers it: the service's view with expiring links to the original, the
    results and the thumbnails."""

    model_config = ANSWER

    progress: ProgressOut = as_in_view(ExecutionView, "progress")
    error: ErrorOut | None = as_in_view(ExecutionView, "error")
    results: list[ResultOut] = as_in_view(ExecutionView, "results")  # type: ignore[assignment]
    thumbnail: ThumbnailOut | None = as_in_view(ExecutionView, "thumbnail")
    images: list[ImageOut] = as_in_view(ExecutionView, "images")  # type: ignore[assignment]
    cost: CostOut | None = as_in_view(ExecutionView, "cost")
    input_url: str | None = Field(default=None, description="An expiring link to the original image.")


class ExecutionPage(BaseModel):
    items: list[ExecutionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class StateDetails(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str


class HistoryEventOut(BaseModel):
    """One Step Functions history event, as Step Functions gives it (its details vary with its type)."""

    model_config = ConfigDict(extra="allow")

    id: int
    type: str
    timestamp: datetime
    previousEventId: int | None = None
    stateEnteredEventDetails: StateDetails | None = None
    stateExitedEventDetails: StateDetails | None = None


class EventsOut(BaseModel):
    execution_id: str
    events: list[HistoryEventOut]


class TokensOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    access_token: str
    id_token: str | None = None
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    user: str


class SignedOut(BaseModel):
    revoked: bool = Field(description="Cognito revoked the session's refresh token (false locally or without one).")
    logout_url: str | None = Field(
        description="Cognito's /logout, which ends the Hosted UI's session and returns to the app; null locally."
    )


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
