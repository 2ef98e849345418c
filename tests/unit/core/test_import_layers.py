"""The import-linter layers contract ([tool.importlinter] in pyproject.toml, run by tox's lint env) passes on
the tree, and fails on a copy of it with one forbidden import added (the core reaching up into workflows)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("aiorch", "aiorch_local", "lambdas", "workflows", "jobs")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")  # from the dev extra (import-linter)


def copy_tree(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the copy, not the editable install, is analysed
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_copied_tree_keeps_the_layers(tmp_path: Path) -> None:
    answer = lint_imports(copy_tree(tmp_path))
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "1 kept, 0 broken" in answer.stdout


def test_one_forbidden_import_breaks_the_contract(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    core_module = tree / "aiorch" / "operations.py"
    core_module.write_text(
        core_module.read_text() + "\nimport workflows.local.watchdog  # forbidden: the core reaches up\n"
    )

    answer = lint_imports(tree)

    assert answer.returncode != 0
    assert "BROKEN" in answer.stdout and "aiorch.operations -> workflows.local.watchdog" in answer.stdout
