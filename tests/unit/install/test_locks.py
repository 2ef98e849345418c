"""Every environment installs from its hash-checked lock, and the locks agree with pyproject.toml.

A fresh clone must install exactly what was tested: `make lock` re-resolves on purpose, and these
tests fail when pyproject.toml (or a lock) changes without the other.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.lockfiles import REPO, lock, locked

SPECS = lock.specs()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_lock_was_made_from_the_current_pyproject(name: str) -> None:
    text = (REPO / "locks" / f"{name}.txt").read_text()
    assert lock.recorded_digest(text) == lock.inputs_digest(SPECS[name]), (
        f"pyproject.toml's requirements for locks/{name}.txt changed since it was made: run `make lock`"
    )


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_requirement_is_met_by_a_pin_of_its_lock(name: str) -> None:
    pins = locked(name)
    for line in SPECS[name].requirements:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({"python_version": SPECS[name].python}):
            continue
        pinned = pins.get(lock.normalise(requirement.name))
        assert pinned is not None, f"{requirement.name} is required but not in locks/{name}.txt: run `make lock`"
        assert requirement.specifier.contains(pinned, prereleases=True), (
            f"locks/{name}.txt pins {requirement.name}=={pinned}, outside {requirement.specifier}: run `make lock`"
        )


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_pin_is_exact_and_hash_checked(name: str) -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", (REPO / "locks" / f"{name}.txt").read_text().split("\n", 3)[3])
    assert entries
    for entry in entries:
        first = entry.splitlines()[0]
        assert re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*==\S+ \\$", first), first
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"no hash for {first}"


@pytest.mark.parametrize("name", ["jobs", "lambda"])
def test_deployed_environments_hold_the_versions_the_suite_runs(name: str) -> None:
    """The job image and the Lambda package: each pin equals the dev lock's, which the suite runs."""
    dev = locked("dev")
    differing = {pkg: (version, dev.get(pkg)) for pkg, version in locked(name).items() if dev.get(pkg) != version}
    assert not differing, f"locks/{name}.txt differs from locks/dev.txt (theirs, dev's): {differing}"


def test_the_running_suite_has_exactly_the_dev_lock() -> None:
    """This interpreter (the .venv `make install` made) holds what locks/dev.txt pins, nothing newer."""
    installed = {lock.normalise(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}
    wrong = {pkg: (v, installed.get(pkg)) for pkg, v in locked("dev").items() if installed.get(pkg) != v}
    assert not wrong, f"installed versions differ from locks/dev.txt (locked, installed): {wrong}: run `make install`"


def test_the_lambda_lock_the_build_and_terraform_name_one_runtime() -> None:
    build = (REPO / "iac" / "scripts" / "build_lambda_zip.py").read_text()
    built_for = re.search(r'^LAMBDA_PYTHON = "([0-9.]+)"', build, re.M)
    assert built_for is not None
    variables = (REPO / "iac" / "modules" / "lambdas" / "variables.tf").read_text()
    runtime = re.search(r'variable "runtime" \{.*?default\s*=\s*"python([0-9.]+)"', variables, re.S)
    assert runtime is not None
    assert built_for.group(1) == runtime.group(1) == SPECS["lambda"].python
    glibc = re.search(r"^LAMBDA_GLIBC_MINOR = (\d+)", build, re.M)
    assert glibc is not None and SPECS["lambda"].platform == f"x86_64-manylinux_2_{glibc.group(1)}"


def test_installs_require_hashes_everywhere() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "pip install -q --require-hashes --no-deps -r locks/dev.txt" in makefile
    assert re.search(r"^\$\(VENV\)/\.installed: locks/dev\.txt", makefile, re.M)
    tox = (REPO / "tox.ini").read_text()
    assert "--require-hashes --no-deps -r locks/checkov.txt" in tox
    assert not re.search(r"^deps\s*=", tox, re.M), "a tox env resolving its own deps is outside the locks"
    assert "--require-hashes" in (REPO / "iac" / "scripts" / "build_lambda_zip.py").read_text()


def test_a_new_dependency_without_a_relock_is_caught(tmp_path: Path) -> None:
    """What the checks above see when pyproject.toml gains a dependency the lock lacks."""
    pyproject = (REPO / "pyproject.toml").read_text()
    added = pyproject.replace('"click>=8.1",', '"click>=8.1",\n  "colorize-it>=1",', 1)
    (tmp_path / "pyproject.toml").write_text(added)
    changed = lock.specs(tmp_path)["dev"]
    assert "colorize-it>=1" in changed.requirements
    assert lock.inputs_digest(changed) != lock.recorded_digest((REPO / "locks" / "dev.txt").read_text())
    assert "colorize-it" not in locked("dev")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_no_lock_holds_a_left_out_distribution(name: str) -> None:
    """Left out on purpose (locks/lock.py EXCLUDED): it would overwrite the files of the one chosen."""
    assert not set(lock.EXCLUDED) & set(locked(name))
