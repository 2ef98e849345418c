"""The API's request and response bodies (they also make the OpenAPI schema at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from aiorch.analysis.media import EXTENSION_FOR_CONTENT_TYPE
from aiorch.contracts import BATCH_MAX_IMAGES, ExecutionStatus, Operation
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


class UploadOut(BaseModel):
    model_config = ConfigDict(extra="allow")

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
        variant["oneOf"] = [
            {"required": ["upload"], "not": {"required": ["uploads"]}},
            {"required": ["uploads"], "not": {"anyOf": [{"required": ["upload"]}, {"required": ["mask"]}]}},
        ]
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


class ProgressOut(BaseModel):
    model_config = ANSWER

    stage: str | None = None
    done: int = 0
    total: int = 0
    percent: float = 0.0
    elapsed_s: float | None = Field(default=None, description="Since the start (to the end once ended).")
    remaining_s: float | None = Field(default=None, description="Left in the current job stage; null: unknown.")


class ResultOut(BaseModel):
    model_config = ANSWER

    job: str
    key: str
    content_type: str
    filename: str | None = Field(
        default=None, description="The name it downloads as (the link's Content-Disposition), after the original."
    )
    url: str = Field(description="An expiring download link.")


class ThumbnailOut(BaseModel):
    model_config = ANSWER

    key: str
    width: int = Field(description="At most 256 px, like the height; the result's aspect ratio.")
    height: int
    url: str = Field(description="An expiring link to the WebP.")


class ErrorOut(BaseModel):
    model_config = ANSWER

    type: str
    message: str = Field(description="Why it failed, in plain words.")


class ImageOut(BaseModel):
    """One image of a batch."""

    model_config = ANSWER

    index: int
    input_key: str
    original_name: str | None = None
    status: str = Field(description="PENDING, RUNNING, SUCCEEDED, FAILED, or the batch's end for an unfinished one.")
    percent: float = 0.0
    stage: str | None = None
    results: list[ResultOut] = Field(default_factory=list)
    error: ErrorOut | None = None
    input_url: str | None = Field(default=None, description="An expiring link to this original image.")
    thumbnail: ThumbnailOut | None = Field(default=None, description="Its job's thumbnail.webp, once it succeeded.")


class CostOut(BaseModel):
    """What a run cost: its jobs' device seconds at the price per second of the machine they ran on."""

    model_config = ANSWER

    usd: float = Field(description="The cost in US dollars; 0 for a free (local) run.")
    device_seconds: float = Field(description="The jobs' run time, spawn to metadata, summed.")
    usd_per_second: float
    instance_type: str = Field(description="The instance type priced, or 'local'.")
    capacity: str = Field(description="on-demand, spot or local.")
    price_source: str = Field(description="Where the price came from; a stand-in starts with 'fallback:'.")


class ExecutionOut(BaseModel):
    model_config = ANSWER

    execution_id: str
    operation: str
    status: ExecutionStatus
    current_state: str | None = None
    stage: str | None = Field(
        default=None,
        description="Where a running execution is, in plain words: 'queued to validate', 'validating', "
        "'queued for a GPU', 'running <job>', 'recording'; null once it has ended.",
    )
    stage_at: datetime | None = Field(default=None, description="When the stage was last written; null with it.")
    progress: ProgressOut = Field(default_factory=ProgressOut)
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    input_key: str
    original_name: str | None = Field(default=None, description="The upload's own file name, when it was given.")
    mask_key: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    error: ErrorOut | None = None
    results: list[ResultOut] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Each job's metadata.json, by job.")
    thumbnail: ThumbnailOut | None = Field(
        default=None,
        description="The final job's thumbnail.webp (at most 256 px), for galleries; null when it wrote none.",
    )
    input_url: str | None = Field(default=None, description="An expiring link to the original image.")
    images: list[ImageOut] = Field(default_factory=list, description="A batch's images, in order (else empty).")
    outcome: str | None = Field(
        default=None,
        description="What the result is, in plain words, when it is not simply the operation's change "
        "(remove text on a photo without text: 'No text found: nothing changed'); null otherwise.",
    )
    unchanged: bool = Field(default=False, description="true: the result is the input as it was.")
    retry_of: str | None = Field(default=None, description="The execution this one retries (POST .../retry).")
    retried_by: list[str] = Field(default_factory=list, description="The executions retrying this one, oldest first.")
    estimated_cost_usd: float | None = Field(
        default=None, description="What it was expected to cost at submit (charged to the month's budget then)."
    )
    cost: CostOut | None = Field(default=None, description="What it cost, once recorded; null before, or unknown.")


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
