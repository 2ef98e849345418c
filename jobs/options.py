"""Reading one operation option with a clear error when it has the wrong type or range."""

from __future__ import annotations

from typing import Any

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
