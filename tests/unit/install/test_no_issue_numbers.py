"""Code and its comments say why, not which issue asked: an "issue N" names nothing a reader of the
repository can open (the tracker is not part of it). Docs may tell history; code may not."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CODE = (".py", ".ts", ".vue", ".tf", ".hcl", ".sh", ".sql", ".toml", ".cfg", ".ini", "Makefile", "Dockerfile")
ISSUE_NUMBER = re.compile(r"\bissue \d+", re.IGNORECASE)


def code_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [REPO / name for name in listed if name.endswith(CODE) and (REPO / name).is_file()]


def test_no_code_or_comment_names_an_issue_number() -> None:
    this = Path(__file__).resolve()
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in code_files()
        if path.resolve() != this
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if ISSUE_NUMBER.search(line)
    ]
    assert not found, "say why instead of naming an issue:\n" + "\n".join(found)


def test_the_check_sees_code_files() -> None:
    names = {path.name for path in code_files()}
    assert {"Makefile", "App.vue", "settings.py"} <= names
