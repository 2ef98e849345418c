"""The weights the jobs know by name: the registry's data lives in the core (``aiorch.weights``, which the
API reads too); here the lookups in the jobs' own failure type.

Nothing here downloads anything: a missing file is a clear error that names ``aiorch weights pull NAME``.
"""

from __future__ import annotations

from aiorch.weights import PACKAGE, REGISTRY, Source, WeightsEntry, pull_command
from jobs.contract import JobFailure

__all__ = ["PACKAGE", "REGISTRY", "Source", "WeightsEntry", "lookup", "names_for", "pull_command"]


def lookup(name: str) -> WeightsEntry:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise JobFailure(f"Unknown model {name!r}. Known models: {known}.", "UnknownModel") from None


def names_for(task: str) -> list[str]:
    return sorted(name for name, entry in REGISTRY.items() if entry.task == task)
