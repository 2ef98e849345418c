"""The operations' option schemas: one table that the API, ValidateInput, the job CLI and the web form read.

Each option has a name, a type, a range or choices, a default, a unit, a one-line
description, the model or method it applies to, and an audience:

- ``user`` options may come in a request (the API, ``ValidateInput``) and are served by ``GET /operations``;
- ``operator`` settings (``weights``: a server-side file torch loads; ``device``; ``compile``) are the
  deployment's choice: a request naming one is refused, and only the job CLI, run by the operator, takes them.

The inpaint operation runs two jobs (detect-text, then inpaint) with one options object; each option says
which job uses it. Input limits (bytes, pixels) come from ``Settings``, the one place they are configured.

Torch-free on purpose: the Lambda package has no ``jobs/``. The upscale model names mirror
``jobs.weights.registry`` (a unit test holds the two equal).
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aiorch.contracts import JobKind, Operation
from aiorch.fields import bounded_number, shown, text_problem
from aiorch.settings import Settings

OptionType = Literal["integer", "number", "boolean", "choice", "string"]

# Bigger options objects are refused before any value is read (the state machine's payload stays small).
MAX_OPTIONS_BYTES = 4096


class Audience(StrEnum):
    user = "user"
    operator = "operator"


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


class OperationSchema(BaseModel):
    """One operation: its options and its input limits."""

    model_config = ConfigDict(frozen=True)

    name: Operation
    jobs: list[str]
    accepts_mask: bool
    options: list[OptionSpec]
    preview_for: Operation | None = None

    def option(self, name: str) -> OptionSpec | None:
        return next((o for o in self.options if o.name == name), None)

    def names(self, audience: Audience | None = None) -> list[str]:
        return [o.name for o in self.options if audience is None or o.audience is audience]


class InputLimits(BaseModel):
    min_side_px: int = Field(description="Each side of the input image must be at least this many pixels.")
    max_bytes: int
    max_pixels: int = Field(description="width x height at most.")
    content_types: list[str] = Field(description="The image types accepted (the upload knows each by its bytes).")


class OperationOut(BaseModel):
    """The user part of one operation's schema, as ``GET /operations`` serves it."""

    name: Operation
    label: str = Field(description="The operation's name for people (the web form's tab).")
    description: str = Field(description="What it does, in one sentence for people.")
    result_job: str = Field(description="The job whose image is the operation's result.")
    model_option: str | None = Field(description="The option that picks the model or method; null: none does.")
    ai_model: str | None = Field(
        description="The AI model whose weights the operation runs when they are installed (a result without "
        "them names its classical fallback); null: none."
    )
    summary_options: list[str] = Field(description="The options a summary of a run names (the ones people choose).")
    accepts_mask: bool
    input: InputLimits
    options: list[OptionSpec]
    preview_for: Operation | None = Field(
        default=None,
        description="Set: this operation previews a part of the named one (detect_text: the text inpaint's OCR "
        "would mask, with its boxes) and is offered inside that operation's form, not as an operation of its own.",
    )
    models: list[ModelOut] = Field(
        default_factory=list,
        description="The choices that need a model's weights, each marked installed or not (auto never needs one).",
    )


class ModelOut(BaseModel):
    """A model an option's choice needs, and whether it is installed where the jobs run."""

    option: str = Field(
        description="The option whose choice needs it: upscale's model, denoise's and inpaint's method."
    )
    choice: str = Field(description="The option's value that runs it.")
    name: str = Field(description="The model's name in the weights registry.")
    installed: bool | None = Field(
        description="true: installed where the jobs run; false: not, and a request choosing it is refused (400); "
        "null: not known here (no weights manifest configured)."
    )
    install: str | None = Field(description="The command an operator runs to install it; null when installed.")


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


# The upscale models of jobs.weights.registry (task "upscale"), by name.
UPSCALE_MODELS = [
    "realesr-animevideov3",
    "realesr-animevideov3-x2",
    "realesr-animevideov3-x3",
    "realesr-general-x4v3",
    "realesrgan-x4plus",
    "realesrgan-x4plus-anime",
    "realesrgan-x4plus-pth",
]
# Output formats of jobs.imageio.OUTPUT_FORMATS ("jpg" is an alias of "jpeg").
OUTPUT_FORMATS = ["png", "jpeg", "jpg", "webp"]
OUTPUT_OPTIONS = frozenset({"format", "quality"})  # read by the job CLI's encoder, not the model
DEVICE_PATTERN = r"auto|cpu|cuda(:[0-9]+)?"
# Below 16 px the models have nothing to work on: a 1×1 "upscaled" 4× is a blotch, and a denoiser or
# LaMa sees less than one of its receptive fields. The browser, the upload and ValidateInput all apply it.
MIN_SIDE_PX = 16

_UPSCALE = [JobKind.upscale.value]
_DENOISE = [JobKind.denoise.value]
_DETECT = [JobKind.detect_text.value]
_INPAINT = [JobKind.inpaint.value]


def _output(jobs: list[str]) -> list[OptionSpec]:
    return [
        OptionSpec(
            name="format",
            type="choice",
            choices=OUTPUT_FORMATS,
            default="png",
            description="The result's file format.",
            jobs=jobs,
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
        ),
    ]


def _precision(jobs: list[str]) -> OptionSpec:
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
    )


def _operator(jobs: list[str], weights_for: str, *, compile_: bool = False) -> list[OptionSpec]:
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


SCHEMAS: dict[Operation, OperationSchema] = {
    Operation.upscale: OperationSchema(
        name=Operation.upscale,
        jobs=_UPSCALE,
        accepts_mask=False,
        options=[
            OptionSpec(
                name="model",
                type="choice",
                choices=UPSCALE_MODELS,
                default="realesrgan-x4plus",
                description="The super-resolution model.",
                jobs=_UPSCALE,
            ),
            OptionSpec(
                name="outscale",
                type="number",
                minimum=0,
                exclusive_minimum=True,
                maximum=16,
                default=None,
                unit="times the input",
                description="Final scale relative to the input; empty: the model's own scale.",
                jobs=_UPSCALE,
            ),
            OptionSpec(
                name="tile",
                type="integer",
                minimum=0,
                maximum=8192,
                default=0,
                unit="px",
                description="Tile side in input pixels; 0: automatic (512 on a GPU, 128 on the CPU).",
                jobs=_UPSCALE,
            ),
            OptionSpec(
                name="tile_overlap",
                type="integer",
                minimum=0,
                maximum=256,
                default=32,
                unit="px",
                description="Input pixels shared by neighbouring tiles (hides seams).",
                jobs=_UPSCALE,
            ),
            OptionSpec(
                name="batch",
                type="integer",
                minimum=0,
                maximum=256,
                default=0,
                unit="tiles",
                description="Tiles per forward pass; 0: automatic.",
                jobs=_UPSCALE,
            ),
            _precision(_UPSCALE),
            *_output(_UPSCALE),
            *_operator(_UPSCALE, "super-resolution model", compile_=True),
        ],
    ),
    Operation.denoise: OperationSchema(
        name=Operation.denoise,
        jobs=_DENOISE,
        accepts_mask=False,
        options=[
            OptionSpec(
                name="method",
                type="choice",
                choices=["auto", "drunet", "bm3d", "bm3d-fast", "tv", "wavelet"],
                default="auto",
                description="auto: DRUNet when its weights are installed, else colour BM3D (bm3d-fast), or wavelet "
                "where that would take over a minute; drunet needs weights; bm3d: BM3D's full search (slow).",
                jobs=_DENOISE,
            ),
            OptionSpec(
                name="sigma",
                type="number",
                minimum=0,
                maximum=255,
                default=None,
                unit="0-255 levels",
                description="Noise level; empty: estimated from the image.",
                jobs=_DENOISE,
            ),
            OptionSpec(
                name="tile",
                type="integer",
                minimum=0,
                maximum=16384,
                default=0,
                unit="px",
                description="Tile side in pixels; 0: automatic per method.",
                jobs=_DENOISE,
            ),
            _precision(_DENOISE),
            *_output(_DENOISE),
            *_operator(_DENOISE, "DRUNet"),
        ],
    ),
    Operation.inpaint: OperationSchema(
        name=Operation.inpaint,
        jobs=[*_DETECT, *_INPAINT],
        accepts_mask=True,
        options=[
            OptionSpec(
                name="use_ocr",
                type="boolean",
                default=True,
                description="Find the text with OCR and remove it; off: fill only what you paint.",
                jobs=_DETECT,
            ),
            OptionSpec(
                name="min_score",
                type="number",
                minimum=0,
                maximum=1,
                default=0.5,
                description="OCR lines with a lower confidence are left alone.",
                applies_to="use_ocr true",
                jobs=_DETECT,
            ),
            OptionSpec(
                name="dilate_px",
                type="integer",
                minimum=0,
                maximum=256,
                default=8,
                unit="px",
                description="How far the mask grows around a line of text masked by its box (when its letters "
                "cannot be told from the background); letter-shaped masks grow by at most 1 px.",
                applies_to="use_ocr true",
                jobs=_DETECT,
            ),
            OptionSpec(
                name="method",
                type="choice",
                choices=["auto", "lama", "telea"],
                default="auto",
                description="auto: LaMa when its weights are installed, else OpenCV FSR (contrib) or Telea; "
                "lama needs weights.",
                jobs=_INPAINT,
            ),
            OptionSpec(
                name="context_px",
                type="integer",
                minimum=8,
                maximum=4096,
                default=128,
                unit="px",
                description="Surroundings cropped with each masked region.",
                jobs=_INPAINT,
            ),
            OptionSpec(
                name="radius",
                type="integer",
                minimum=1,
                maximum=64,
                default=5,
                unit="px",
                description="Neighbourhood the Telea inpainter draws from.",
                applies_to="method telea",
                jobs=_INPAINT,
            ),
            OptionSpec(
                name="max_side",
                type="integer",
                minimum=32,
                maximum=8192,
                default=1024,
                unit="px",
                description="LaMa fills each crop at most this large (longest side), then scales it back.",
                applies_to="method lama",
                jobs=_INPAINT,
            ),
            _precision(_INPAINT),
            *_output(_INPAINT),
            *_operator(_INPAINT, "LaMa"),
        ],
    ),
}

# detect_text runs inpaint's OCR job alone, so its options are that job's own specs (the same ranges and
# defaults); use_ocr is left out, since without OCR there is nothing to detect.
SCHEMAS[Operation.detect_text] = OperationSchema(
    name=Operation.detect_text,
    jobs=_DETECT,
    accepts_mask=False,
    options=[
        spec.model_copy(update={"applies_to": None})
        for spec in SCHEMAS[Operation.inpaint].options
        if spec.jobs == _DETECT and spec.name != "use_ocr"
    ],
    preview_for=Operation.inpaint,
)


class Presentation(BaseModel):
    """What people read about an operation, and which of its parts the web app branches on."""

    label: str
    description: str
    result_job: str
    model_option: str | None = None
    ai_model: str | None = None
    summary_options: list[str] = []


PRESENTATION: dict[Operation, Presentation] = {
    Operation.upscale: Presentation(
        label="Upscale",
        description="Real-ESRGAN makes the image four times larger and sharper.",
        result_job=JobKind.upscale.value,
        model_option="model",
        ai_model="Real-ESRGAN",
        summary_options=["model", "outscale"],
    ),
    Operation.denoise: Presentation(
        label="Denoise",
        description="DeepInverse removes noise; without DRUNet weights it uses a classical denoiser and says so.",
        result_job=JobKind.denoise.value,
        model_option="method",
        ai_model="DRUNet",
        summary_options=["method", "sigma"],
    ),
    Operation.inpaint: Presentation(
        label="Remove text",
        description="Finds text with OCR and fills it in; paint over anything else you want removed.",
        result_job=JobKind.inpaint.value,
        model_option="method",
        ai_model="LaMa",
        summary_options=["method", "use_ocr"],
    ),
    Operation.detect_text: Presentation(
        label="Find text",
        description="Shows the text OCR finds, boxed, before anything is filled.",
        result_job=JobKind.detect_text.value,
    ),
}

OPTION_LABELS: dict[str, str] = {
    "model": "Model",
    "outscale": "Final scale",
    "tile": "Tile size",
    "tile_overlap": "Tile overlap",
    "batch": "Tiles per pass",
    "precision": "Precision",
    "format": "Output format",
    "quality": "Quality",
    "method": "Method",
    "sigma": "Noise level",
    "use_ocr": "Find text with OCR",
    "min_score": "Minimum OCR confidence",
    "dilate_px": "Grow text mask by",
    "context_px": "Context around each region",
    "radius": "Telea radius",
    "max_side": "LaMa crop size",
}

CHOICE_LABELS: dict[str, str] = {
    "realesrgan-x4plus": "Photos (Real-ESRGAN x4plus)",
    "realesrgan-x4plus-anime": "Drawings and anime (x4plus anime)",
    "realesr-animevideov3": "Fast, small model (animevideo v3)",
    "png": "PNG (lossless)",
    "jpeg": "JPEG",
    "jpg": "JPEG (.jpg)",
    "webp": "WebP",
    "auto": "Best available",
    "bm3d": "BM3D (classical)",
    "tv": "Total variation (classical)",
    "wavelet": "Wavelet (classical)",
    "drunet": "DRUNet (needs weights)",
    "lama": "LaMa (needs weights)",
    "telea": "OpenCV Telea (classical)",
}


def _labelled(option: OptionSpec) -> OptionSpec:
    """The option with its words for people (the name itself where none is written)."""
    choices = {c: CHOICE_LABELS[c] for c in option.choices or [] if c in CHOICE_LABELS}
    return option.model_copy(
        update={"label": option.label or OPTION_LABELS.get(option.name, option.name), "choice_labels": choices}
    )


def schema_for(operation: Operation | str) -> OperationSchema:
    return SCHEMAS[Operation(operation)]


def check_options(operation: Operation | str, options: dict[str, Any], *, operator: bool = False) -> dict[str, Any]:
    """The options with their values checked, as the jobs use them (nulls dropped); the first bad one raises
    OptionError.

    ``operator`` False (a request): operator settings are refused like unknown names.
    """
    schema = schema_for(operation)
    if not isinstance(options, dict):
        raise OptionError("options", "options must be an object of name: value")
    try:
        size = len(json.dumps(options, default=str))
    except ValueError:  # an integer too long for Python to write out (over 4,300 digits)
        size = MAX_OPTIONS_BYTES + 1
    if size > MAX_OPTIONS_BYTES:
        raise OptionError("options", f"options are larger than {MAX_OPTIONS_BYTES} bytes")
    allowed = schema.names(None if operator else Audience.user)
    checked: dict[str, Any] = {}
    for name, value in options.items():
        spec = schema.option(name)
        if spec is not None and spec.audience is Audience.operator and not operator:
            raise OptionError(
                name,
                f"option {name!r} is an operator setting (the server's configuration), not a request option; "
                f"the {schema.name} options are {', '.join(allowed)}",
            )
        if spec is None:
            raise OptionError(
                name, f"unknown option {shown(name)} for {schema.name}: the options are {', '.join(allowed)}"
            )
        value = spec.check(value)
        if value is not None:  # null means "the default": the job picks it
            checked[name] = value
    return checked


def served_operations(settings: Settings, installed: dict[str, bool | None] | None = None) -> list[OperationOut]:
    """Every operation's user options and input limits, for ``GET /operations`` and the web form, with the
    models its choices need marked installed or not (``installed``: by model name; default: as
    ``aiorch.weights.installed`` finds them)."""
    from aiorch.analysis.media import CONTENT_TYPES, EXTENSIONS  # the upload's table (media imports this module)
    from aiorch.weights import MODEL_OPTIONS, install_hint
    from aiorch.weights import installed as installed_models

    content_types = [CONTENT_TYPES[ext] for ext in EXTENSIONS.values()]
    flags = installed_models(settings) if installed is None else installed

    def models(operation: Operation) -> list[ModelOut]:
        option, choices = MODEL_OPTIONS.get(operation, ("", {}))
        return [
            ModelOut(
                option=option,
                choice=choice,
                name=name,
                installed=flags.get(name),
                install=None if flags.get(name) else install_hint(name),
            )
            for choice, name in sorted(choices.items())
        ]

    return [
        OperationOut(
            name=schema.name,
            **PRESENTATION[schema.name].model_dump(),
            accepts_mask=schema.accepts_mask,
            input=InputLimits(
                min_side_px=MIN_SIDE_PX,
                max_bytes=settings.upload_max_bytes,
                max_pixels=settings.max_pixels(schema.name),
                content_types=content_types,
            ),
            options=[_labelled(o) for o in schema.options if o.audience is Audience.user],
            preview_for=schema.preview_for,
            models=models(schema.name),
        )
        for schema in SCHEMAS.values()
    ]
