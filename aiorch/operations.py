"""The operations' option schemas: one table that the API, ValidateInput, the job CLI and the web form read,
derived from the registry of operations (``aiorch/registry/``: each operation's module declares its options).

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
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aiorch.contracts import Operation
from aiorch.fields import shown
from aiorch.registry import OPERATIONS
from aiorch.registry.spec import (
    DEVICE_PATTERN,
    OUTPUT_FORMATS,
    OUTPUT_OPTIONS,
    Audience,
    OperationDefinition,
    OptionError,
    OptionSpec,
    OptionType,
)
from aiorch.registry.upscale import UPSCALE_MODELS
from aiorch.settings import Settings

__all__ = [
    "DEVICE_PATTERN",
    "MAX_OPTIONS_BYTES",
    "MIN_SIDE_PX",
    "OUTPUT_FORMATS",
    "OUTPUT_OPTIONS",
    "SCHEMAS",
    "UPSCALE_MODELS",
    "Audience",
    "InputLimits",
    "ModelOut",
    "OperationOut",
    "OperationSchema",
    "OptionError",
    "OptionSpec",
    "OptionType",
    "check_options",
    "schema_for",
    "served_operations",
]

# Bigger options objects are refused before any value is read (the state machine's payload stays small).
MAX_OPTIONS_BYTES = 4096
# Below 16 px the models have nothing to work on: a 1×1 "upscaled" 4× is a blotch, and a denoiser or
# LaMa sees less than one of its receptive fields. The browser, the upload and ValidateInput all apply it.
MIN_SIDE_PX = 16


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


def _schema(definition: OperationDefinition) -> OperationSchema:
    return OperationSchema(
        name=Operation(definition.name),
        jobs=[job.kind for job in definition.jobs],
        accepts_mask=definition.accepts_mask,
        options=definition.options,
        preview_for=Operation(definition.preview_for) if definition.preview_for else None,
    )


# Every registered operation's schema (aiorch/registry/: one module per operation), in its order.
SCHEMAS: dict[Operation, OperationSchema] = {Operation(name): _schema(d) for name, d in OPERATIONS.items()}


def _labelled(option: OptionSpec) -> OptionSpec:
    """The option as served: its name stands in for a label none was written for, and its choices' labels
    come in the choices' order."""
    ordered = {c: option.choice_labels[c] for c in option.choices or [] if c in option.choice_labels}
    return option.model_copy(update={"label": option.label or option.name, "choice_labels": ordered})


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

    def words(name: Operation) -> dict[str, Any]:
        definition = OPERATIONS[name.value]
        return {
            "label": definition.label,
            "description": definition.description,
            "result_job": definition.result,
            "model_option": definition.model_option,
            "ai_model": definition.ai_model,
            "summary_options": list(definition.summary_options),
        }

    return [
        OperationOut(
            name=schema.name,
            **words(schema.name),
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
