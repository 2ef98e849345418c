"""Load and render the image-AI analysis state machine definition.

The ``.asl.json`` file is the single source: Terraform's ``templatefile`` and the
local states service fill the same ``${...}`` placeholders. Its per-operation parts
(the branches by operation, one task state per job) are written from the registry of
operations by ``python -m workflows.render``. Placeholders sit
only inside ``Parameters`` (never in ``Resource``), so the file stays valid ASL
as it is and statelint can check it unrendered.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aiorch.contracts import STATE_FOR_JOB
from aiorch.settings import Settings

DEFINITION_PATH = Path(__file__).with_name("image_ai_analysis.asl.json")

# Every deployment-specific value; Terraform passes exactly these names to templatefile().
PLACEHOLDERS: list[str] = [
    "validate_input_function",
    "record_result_function",
    "record_failure_function",
    "job_queue",
    "job_definition",
]

LAMBDA_TASKS = ("ValidateInput", "RecordResult", "RecordFailure")
# One Batch task state per job of the registry of operations (python -m workflows.render writes them).
JOB_TASKS = tuple(STATE_FOR_JOB.values())
# A batch's job task, inside the two Maps (over chunks, then over a chunk's jobs in order).
BATCH_JOB_TASK_PATH = ("RunChunks", "ChunkJobs", "ChunkJob")


def batch_job_task(definition: dict[str, Any]) -> dict[str, Any]:
    """The ChunkJob task state, found through the Maps' ItemProcessors."""
    states = definition["States"]
    *maps, task = BATCH_JOB_TASK_PATH
    for name in maps:
        states = states[name]["ItemProcessor"]["States"]
    found: dict[str, Any] = states[task]
    return found


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class DefinitionError(ValueError):
    """The definition cannot be rendered with the values given."""


def load_definition_text() -> str:
    return DEFINITION_PATH.read_text(encoding="utf-8")


def placeholders_in(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def render_definition(values: dict[str, str], settings: Settings | None = None) -> str:
    """Fill every placeholder; with ``settings``, also apply its timeouts and retry policy."""
    missing = [name for name in PLACEHOLDERS if name not in values]
    unknown = sorted(set(values) - set(PLACEHOLDERS))
    if missing or unknown:
        raise DefinitionError(f"placeholder values: missing {missing}, unknown {unknown}")
    for name, value in values.items():
        # Values land inside JSON strings; refuse what would need escaping rather than escape silently.
        if not value or any(c in value for c in '"\\${}') or not value.isprintable():
            raise DefinitionError(f"placeholder {name!r} has an unusable value {value!r}")

    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], load_definition_text())
    leftover = placeholders_in(text)
    if leftover:
        raise DefinitionError(f"the definition uses placeholders not in PLACEHOLDERS: {sorted(leftover)}")
    if settings is None:
        return text
    definition = json.loads(text)
    apply_settings(definition, settings)
    return json.dumps(definition, indent=2)


def apply_settings(definition: dict[str, Any], settings: Settings) -> None:
    """Set task timeouts and retry counts/backoff from Settings (in place)."""
    states = definition["States"]
    for name in LAMBDA_TASKS:
        states[name]["TimeoutSeconds"] = settings.lambda_timeout_s
        for retrier in states[name].get("Retry", []):
            retrier["MaxAttempts"] = settings.lambda_retry_max_attempts
            retrier["BackoffRate"] = settings.retry_backoff_rate
    for task in [*(states[name] for name in JOB_TASKS), batch_job_task(definition)]:
        task["TimeoutSeconds"] = settings.job_timeout_s
        for retrier in task.get("Retry", []):
            retrier["MaxAttempts"] = settings.batch_throttle_retry_max_attempts
            retrier["BackoffRate"] = settings.retry_backoff_rate
