"""The job side of the operations' option schema (aiorch/operations.py), the one definition of every option.

The job CLI checks a job's options with the schema (as the API and ValidateInput do); the operation
modules read them through ``read_options``, the same check (so a module called directly, by a test or a
benchmark, refuses what the API refuses, in the same words) with the schema's defaults filled in.
Values that are only known to be wrong inside the job (fp16 for a model without half precision, a tile
too large for the device's memory) are refused by ``refuse`` in the schema's words:
"option 'precision' must be auto or fp32 ..., not 'fp16'".
"""

from __future__ import annotations

from typing import Any

from aiorch.contracts import Operation
from aiorch.operations import OUTPUT_OPTIONS, OptionError, check_options, schema_for
from jobs.contract import JobFailure


def option_failure(job: str, error: OptionError) -> JobFailure:
    """A refused option as the job's error (error.json): the schema's words, named for the job."""
    return JobFailure(f"Bad options for the {job} job: {error.message}.", "BadRequest")


def read_options(operation: Operation, job: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """Every model option of ``operation`` (output options are the CLI's): the checked value, else the
    schema's default (None: the job decides). Operator settings are accepted: the operator runs the job."""
    try:
        checked = check_options(operation, dict(options or {}), operator=True)
    except OptionError as error:
        raise option_failure(job, error) from None
    return {
        spec.name: checked.get(spec.name, spec.default)
        for spec in schema_for(operation).options
        if spec.name not in OUTPUT_OPTIONS
    }


def option_names(operation: Operation) -> frozenset[str]:
    """The model options a job of ``operation`` takes (inpaint's two jobs share one options object)."""
    return frozenset(schema_for(operation).names()) - OUTPUT_OPTIONS


def refuse(operation: Operation, job: str, name: str, value: Any, allowed: str) -> JobFailure:
    """A value the schema allows but this job cannot use here, refused in the schema's words."""
    spec = schema_for(operation).option(name)
    assert spec is not None, f"{name!r} is no option of {operation}"  # a programming error, not bad input
    return option_failure(job, spec.refusal(value, allowed))


def choose_precision(
    operation: Operation, job: str, requested: str, *, device_type: str, supports_half: bool, model: str
) -> str:
    """fp16 or fp32 for ``model`` on the device: "auto" is fp16 on a GPU when the model supports half
    precision (spandrel's ModelDescriptor.supports_half), else fp32; fp16 where it cannot run is refused."""
    if requested == "auto":
        return "fp16" if device_type == "cuda" and supports_half else "fp32"
    if requested == "fp16" and not supports_half:
        raise refuse(operation, job, "precision", requested, f"auto or fp32 for {model} (no half precision)")
    if requested == "fp16" and device_type != "cuda":
        raise refuse(operation, job, "precision", requested, "auto or fp32 on the CPU (fp16 needs a CUDA GPU)")
    return requested
