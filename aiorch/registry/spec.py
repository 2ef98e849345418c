"""What one operation module declares, and the option specs and shared options they are made of.

Light on purpose: pydantic and ``aiorch.fields`` only. ``aiorch.contracts`` derives its enums from the
declarations, so nothing here may import it (or anything that does).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aiorch.fields import bounded_number, shown, text_problem

OptionType = Literal["integer", "number", "boolean", "choice", "string"]
MaskUse = Literal["none", "optional", "required"]

# Output formats of jobs.imageio.OUTPUT_FORMATS ("jpg" is an alias of "jpeg").
OUTPUT_FORMATS = ["png", "jpeg", "jpg", "webp"]
OUTPUT_OPTIONS = frozenset({"format", "quality"})  # read by the job CLI's encoder, not the model
DEVICE_PATTERN = r"auto|cpu|cuda(:[0-9]+)?"
# "auto" reads the same in every choice option that has it.
AUTO_LABEL = {"auto": "Best available"}


class Audience(StrEnum):
    user = "user"
    operator = "operator"


class OptionError(ValueError):
    """A request's option is unknown, an operator setting, or has a value outside its range."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option
        self.message = message


def _plain(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if value == int(value) else str(value)


class OptionSpec(BaseModel):
    """One option of one operation."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: OptionType
    description: str
    default: Any = Field(
        description="The value used when the option is absent; null: the job decides (see description)."
    )
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = Field(default=False, description="true: the value must be greater than minimum.")
    choices: list[str] | None = None
    pattern: str | None = None  # string options only
    unit: str | None = None
    applies_to: str | None = Field(default=None, description="The model or method the option matters for.")
    jobs: list[str] = Field(description="The jobs that read it (inpaint runs detect-text, then inpaint).")
    audience: Audience = Audience.user
    label: str = Field(default="", description="The option's name for people (the web form's label).")
    choice_labels: dict[str, str] = Field(
        default_factory=dict, description="A choice option's values in words for people, by value."
    )

    def allowed(self) -> str:
        """The allowed values in plain words, as every refusal states them."""
        if self.type == "choice":
            return "one of " + ", ".join(self.choices or [])
        if self.type == "boolean":
            return "true or false"
        if self.type == "string":
            return f"text matching {self.pattern}" if self.pattern else "text"
        kind = "a whole number" if self.type == "integer" else "a number"
        unit = f" {self.unit}" if self.unit else ""
        if self.exclusive_minimum:
            return f"{kind} greater than {_plain(self.minimum)} and at most {_plain(self.maximum)}{unit}"
        return f"{kind} from {_plain(self.minimum)} to {_plain(self.maximum)}{unit}"

    def check(self, value: Any) -> Any:
        """The value as the job uses it (choices lower-cased, whole floats as int); OptionError if not allowed."""
        if value is None:
            return None  # the default
        if self.type == "boolean":
            if isinstance(value, bool):
                return value
        elif self.type == "choice":
            if isinstance(value, str) and value.lower() in (self.choices or []):
                return value.lower()
        elif self.type == "string":
            if (
                isinstance(value, str)
                and value
                and text_problem(value) is None
                and (self.pattern is None or re.fullmatch(self.pattern, value))
            ):
                return value
        elif bounded_number(value) is not None:  # the core's rule for numbers, before any arithmetic
            whole = value == int(value)
            low, high = self.minimum, self.maximum
            in_range = (low is None or (value > low if self.exclusive_minimum else value >= low)) and (
                high is None or value <= high
            )
            if (self.type == "number" or whole) and in_range:
                return int(value) if self.type == "integer" else float(value)
        raise self.refusal(value)

    def refusal(self, value: Any, allowed: str | None = None) -> OptionError:
        """The one wording of a refused value: the API's 400, ValidateInput's failure and the job's error.

        ``allowed`` replaces the schema's range where the job knows more (a model without half precision,
        the device's memory)."""
        return OptionError(self.name, f"option {self.name!r} must be {allowed or self.allowed()}, not {shown(value)}")


class JobDefinition(BaseModel):
    """One job of the job image: ``python -m jobs <kind>``, one Batch task state of the state machine."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="The job CLI's subcommand (and the results' folder): letters, digits and '-'.")
    state: str = Field(description="Its task state in the state machine (and ValidateInput's key for its spec).")
    module: str = Field(description="The module under jobs/ with run(image, options, progress[, mask=...]).")
    mask: MaskUse = Field(default="none", description="Whether the job takes --mask.")
    mask_from: str | None = Field(
        default=None, description="The earlier job whose mask.png is this job's --mask (inpaint: detect-text's)."
    )

    @property
    def member(self) -> str:
        """Its JobKind member name (detect-text: detect_text)."""
        return self.kind.replace("-", "_")


class OperationDefinition(BaseModel):
    """Everything about one operation: one module under ``aiorch/registry/`` holds one of these as
    ``OPERATION``, and the enums, maps, served document, job table and state machine are derived from it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The operation's name in requests (a Python identifier).")
    position: int = Field(description="Where it stands among the operations (enums, the served list, tabs).")
    label: str = Field(description="The operation's name for people (the web form's tab).")
    description: str = Field(description="What it does, in one sentence for people.")
    past_tense: str | None = Field(
        default=None, description="What a result's download name says was done (photo-upscaled.png); default: name."
    )
    jobs: list[JobDefinition] = Field(description="The jobs it runs, in order.")
    options: list[OptionSpec]
    accepts_mask: bool = False
    max_pixels: int | None = Field(
        default=None,
        description="The default limit on width x height (Settings can change it); None: that of the operation "
        "it previews.",
    )
    result_job: str | None = Field(default=None, description="The job whose image is the result; default: the last.")
    model_option: str | None = None
    model_weights: dict[str, str] = Field(
        default_factory=dict,
        description="model_option's choices that need registered weights (aiorch.weights), by choice.",
    )
    ai_model: str | None = None
    summary_options: list[str] = Field(default_factory=list)
    preview_for: str | None = Field(
        default=None, description="The operation it previews a part of (detect_text: inpaint's OCR)."
    )

    @property
    def result(self) -> str:
        return self.result_job or self.jobs[-1].kind

    @property
    def done(self) -> str:
        return self.past_tense or self.name


def output_options(jobs: list[str]) -> list[OptionSpec]:
    """The result's format and quality, read by the job CLI's encoder."""
    return [
        OptionSpec(
            name="format",
            type="choice",
            choices=OUTPUT_FORMATS,
            default="png",
            description="The result's file format.",
            jobs=jobs,
            label="Output format",
            choice_labels={"png": "PNG (lossless)", "jpeg": "JPEG", "jpg": "JPEG (.jpg)", "webp": "WebP"},
        ),
        OptionSpec(
            name="quality",
            type="integer",
            minimum=1,
            maximum=100,
            default=95,
            description="Lossy compression quality (higher: larger file, fewer artefacts).",
            applies_to="format jpeg or webp",
            jobs=jobs,
            label="Quality",
        ),
    ]


def precision_option(jobs: list[str]) -> OptionSpec:
    # Whether a model runs in half precision is the model's fact (spandrel's supports_half), known only
    # once the job has loaded it: the job refuses fp16 for one that does not, in this option's words.
    return OptionSpec(
        name="precision",
        type="choice",
        choices=["auto", "fp16", "fp32"],
        default="auto",
        description="Arithmetic precision; auto: fp16 on a GPU for a model that supports it, else fp32. "
        "fp16 needs a GPU and such a model (the classical methods run in fp32).",
        jobs=jobs,
        label="Precision",
        choice_labels=AUTO_LABEL,
    )


def operator_options(jobs: list[str], weights_for: str, *, compile_: bool = False) -> list[OptionSpec]:
    """The deployment's settings a job takes from its operator, never from a request."""
    specs = [
        OptionSpec(
            name="weights",
            type="string",
            default=None,
            description=f"A {weights_for} weights file (.pth/.safetensors/.pt path or file:// / s3:// URI).",
            applies_to=weights_for,
            jobs=jobs,
            audience=Audience.operator,
        ),
        OptionSpec(
            name="device",
            type="string",
            pattern=DEVICE_PATTERN,
            default="auto",
            description="The torch device: auto (a GPU when usable), cpu, cuda or cuda:N.",
            jobs=jobs,
            audience=Audience.operator,
        ),
    ]
    if compile_:
        specs.append(
            OptionSpec(
                name="compile",
                type="boolean",
                default=False,
                description="torch.compile the model (slow first tile, faster after).",
                jobs=jobs,
                audience=Audience.operator,
            )
        )
    return specs
