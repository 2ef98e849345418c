"""locks/lock.py, loaded for the tests (it is a script beside the locks, not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load_lock_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aiorch_locks", REPO / "locks" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


lock = load_lock_module()


def locked(name: str) -> dict[str, str]:
    """Normalised name -> version pinned in locks/<name>.txt."""
    return lock.pins((REPO / "locks" / f"{name}.txt").read_text())
