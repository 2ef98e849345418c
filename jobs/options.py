"""Reading one operation option with a clear error when it has the wrong type or range."""

from __future__ import annotations

from typing import Any

from aiorch.contracts import JobKind, Operation
from aiorch.operations import OUTPUT_OPTIONS, schema_for
from jobs.contract import JobFailure


def int_option(options: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise JobFailure(f"Option {name!r} must be a whole number, not {value!r}.", "BadRequest")
    if not low <= int(value) <= high:
        raise JobFailure(f"Option {name!r} must be between {low} and {high}, not {value}.", "BadRequest")
    return int(value)


def float_option(options: dict[str, Any], name: str, default: float | None, low: float, high: float) -> float:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JobFailure(f"Option {name!r} must be a number, not {value!r}.", "BadRequest")
    if not low <= float(value) <= high:
        raise JobFailure(f"Option {name!r} must be between {low} and {high}, not {value}.", "BadRequest")
    return float(value)


def bool_option(options: dict[str, Any], name: str, default: bool) -> bool:
    value = options.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "yes", "no", "1", "0"}:
        return value.strip().lower() in {"true", "yes", "1"}
    raise JobFailure(f"Option {name!r} must be true or false, not {value!r}.", "BadRequest")


def fp32_precision(options: dict[str, Any], model: str) -> str:
    """The precision option for models that run in fp32 only: "auto" or "fp32" is fine, others are refused."""
    value = str(options.get("precision") or "auto").lower()
    if value not in {"auto", "fp32"}:
        raise JobFailure(f"{model} runs in fp32 only; option 'precision' {value!r} is not available.", "BadRequest")
    return "fp32"


# The inpaint operation runs two jobs, detect-text then inpaint, with one options object
# (ValidateInput passes the same --options to both). Each job accepts the whole vocabulary
# and uses its own part of it. The names come from the operation's schema (aiorch.operations).
_INPAINT_SCHEMA = schema_for(Operation.inpaint)
DETECT_TEXT_OPTIONS = frozenset(o.name for o in _INPAINT_SCHEMA.options if JobKind.detect_text.value in o.jobs)
INPAINT_OPTIONS = frozenset(o.name for o in _INPAINT_SCHEMA.options if JobKind.inpaint.value in o.jobs) - OUTPUT_OPTIONS
INPAINT_OPERATION_OPTIONS = DETECT_TEXT_OPTIONS | INPAINT_OPTIONS
