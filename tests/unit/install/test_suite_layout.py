"""The suite collects as one run: pytest names a test file outside a package by its base name alone, so
two such files with one name stop the whole collection ("import file mismatch") before any test runs."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]


def _in_a_package(path: Path) -> bool:
    return (path.parent / "__init__.py").is_file()


def test_no_two_test_files_outside_packages_share_a_name() -> None:
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        if not _in_a_package(path):
            by_name[path.name].append(str(path.relative_to(TESTS)))
    clashes = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    assert not clashes, f"rename one of each pair (pytest collects them as one module): {clashes}"
