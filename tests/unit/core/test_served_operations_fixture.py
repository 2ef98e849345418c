"""frontend/tests/served-operations.json is what GET /operations serves with the default settings, so the
front end's form tests draw from the real schema. Regenerate it with:
``python -m tests.unit.core.test_served_operations_fixture``."""

from __future__ import annotations

import json
from pathlib import Path

from aiorch.operations import served_operations
from aiorch.settings import Settings
from aiorch.weights import REGISTRY

# A fresh install's models: the packaged Real-ESRGAN ones, no downloaded weights (the fixture is the same
# on every machine, whatever its weights folder holds).
FRESH_INSTALL: dict[str, bool | None] = {name: entry.source == "package" for name, entry in REGISTRY.items()}

FIXTURE = Path(__file__).resolve().parents[3] / "frontend" / "tests" / "served-operations.json"


def served_json() -> str:
    defaults = Settings.model_construct()  # the model's defaults, no AIORCH_* from the environment
    served = served_operations(defaults, installed=FRESH_INSTALL)
    return json.dumps([op.model_dump(mode="json") for op in served], indent=2) + "\n"


def test_the_front_end_fixture_is_the_served_schema() -> None:
    assert FIXTURE.read_text() == served_json(), "stale: regenerate with the command in this module's docstring"


if __name__ == "__main__":
    FIXTURE.write_text(served_json())
