"""workflows/README.md's state diagram names every hand-written state of every workflows/*.asl.json, the
states inside Map states included (it once lacked RunChunks, AfterDetectText and CauseGiven). The states
`python -m workflows.render` writes from the registry of operations (one Batch task per job, a Choice
after a job where operations part) are drawn as examples: a new operation's states need no edit here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workflows.render import is_generated_state

WORKFLOWS = Path(__file__).resolve().parents[3] / "workflows"


def state_names(machine: dict[str, Any]) -> Iterator[str]:
    """Every hand-written state's name (those the registry writes are left out)."""
    for name, state in machine["States"].items():
        if not is_generated_state(name, state):
            yield name
        for inner in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])):
            if inner:
                yield from state_names(inner)


def diagram() -> str:
    readme = (WORKFLOWS / "README.md").read_text()
    section = readme.split("## The definition", 1)[1]
    return section.split("```", 2)[1]


def test_the_diagram_names_every_state_of_every_definition() -> None:
    definitions = sorted(WORKFLOWS.glob("*.asl.json"))
    assert definitions
    shown = set(re.findall(r"[A-Za-z]+", diagram()))
    for path in definitions:
        names = set(state_names(json.loads(path.read_text())))
        assert names <= shown, f"{path.name}: {sorted(names - shown)} missing from workflows/README.md's diagram"


def test_the_registry_written_states_are_said_to_be_written_from_the_registry() -> None:
    assert "python -m workflows.render" in diagram_section()


def diagram_section() -> str:
    return (WORKFLOWS / "README.md").read_text().split("## The definition", 1)[1].split("\n## ", 1)[0]
