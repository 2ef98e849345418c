"""Write the hash-checked locks, one per environment the project installs (``make lock``).

Each lock is a pip requirements file with every version pinned and every artifact's sha256,
so ``pip install --require-hashes -r locks/<env>.txt`` installs the same bytes on any day:

- ``dev.txt``: the ``.venv`` of ``make install`` (every extra, the build backend, the lock tool);
  the whole test suite, lint and the IaC harness run from it.
- ``jobs.txt``: the GPU job image (core + ``jobs``), CPython 3.11 on manylinux 2.28.
- ``lambda.txt``: the Lambda package (core + ``lambdas``) for the python3.12 runtime on Amazon
  Linux 2023 (glibc 2.34), wheels only.
- ``checkov.txt``: checkov's own virtualenv (it pins a boto3 the project cannot share).

``jobs`` and ``lambda`` are resolved under the ``dev`` pins as constraints: they hold exactly the
versions the suite ran with, or the lock fails (a version without a wheel for Lambda's platform
fails here, by name). Each lock's first lines record a digest of the inputs it was made from;
``tests/unit/test_locks.py`` fails when pyproject.toml changes without a relock.

uv resolves (fast, offline-capable, hashes of every artifact); pip installs.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCKS = REPO / "locks"
CHECKOV = "checkov==3.3.30"
# pip itself is locked too: the venv's bundled pip differs from machine to machine.
TOOLS = ["pip"]
# Distributions left out of every resolution, though a dependency asks for them. Every lock is
# therefore installed with pip's --no-deps (the lock is the whole closure by construction).
EXCLUDED = {
    # rapidocr asks for it; opencv-contrib-python-headless (the project's) ships the same cv2
    # package plus contrib's xphoto (the FSR fill): two distributions writing one package
    # overwrite each other in whatever order pip happens to install them.
    "opencv-python-headless": "opencv-contrib-python-headless provides the same cv2 module",
}


@dataclass(frozen=True)
class LockSpec:
    name: str
    python: str
    platform: str  # uv's --python-platform
    requirements: list[str]
    constrained_by_dev: bool = False
    wheels_only: bool = False
    purpose: str = ""
    extra_args: list[str] = field(default_factory=list)


def _project(repo: Path = REPO) -> dict:
    return tomllib.loads((repo / "pyproject.toml").read_text())


def specs(repo: Path = REPO) -> dict[str, LockSpec]:
    """What each environment installs, read from pyproject.toml."""
    data = _project(repo)
    project = data["project"]
    core = list(project["dependencies"])
    extras = project["optional-dependencies"]
    every_extra = [req for name in sorted(extras) for req in extras[name]]
    build = list(data["build-system"]["requires"])
    return {
        "dev": LockSpec(
            "dev", "3.11", "x86_64-manylinux_2_28", core + every_extra + build + TOOLS,
            purpose="the .venv of `make install`: every extra; tests, lint and the IaC harness run from it",
        ),
        "jobs": LockSpec(
            "jobs", "3.11", "x86_64-manylinux_2_28", core + list(extras["jobs"]) + build + TOOLS,
            constrained_by_dev=True, purpose="the GPU job image (jobs/Dockerfile)",
        ),
        "lambda": LockSpec(
            "lambda", "3.12", "x86_64-manylinux_2_34", core + list(extras["lambdas"]),
            constrained_by_dev=True, wheels_only=True,
            purpose="the Lambda package (iac/scripts/build_lambda_zip.py), python3.12 on Amazon Linux 2023",
        ),
        "checkov": LockSpec(
            "checkov", "3.11", "x86_64-manylinux_2_28", [CHECKOV], purpose="checkov's own virtualenv (tox iac)"
        ),
    }  # fmt: skip


def inputs_digest(spec: LockSpec) -> str:
    """A digest of what decides a lock: its requirements (as written), target and options."""
    decided = [sorted(spec.requirements), spec.python, spec.platform, spec.constrained_by_dev, spec.wheels_only,
               sorted(EXCLUDED)]  # fmt: skip
    return hashlib.sha256(json.dumps(decided).encode()).hexdigest()[:16]


_DIGEST_LINE = re.compile(r"^# inputs-sha256: ([0-9a-f]+)$", re.M)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def recorded_digest(lock_text: str) -> str | None:
    found = _DIGEST_LINE.search(lock_text)
    return found.group(1) if found else None


def pins(lock_text: str) -> dict[str, str]:
    """Normalised name -> version of every pin in a lock file."""
    return {normalise(name): version for name, version in _PIN.findall(lock_text)}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def uv() -> str:
    found = Path(sys.executable).with_name("uv")
    if not found.exists():
        raise SystemExit("uv is not installed here: run `make install` first (it is in the dev lock)")
    return str(found)


def compile_lock(spec: LockSpec, scratch: Path) -> str:
    inputs = scratch / f"{spec.name}.in"
    inputs.write_text("\n".join(spec.requirements) + "\n")
    command = [
        uv(), "pip", "compile", str(inputs), "--generate-hashes", "--no-header", "--no-annotate",
        "--python-version", spec.python, "--python-platform", spec.platform, "--quiet",
        "--index-url", "https://pypi.org/simple",
    ]  # fmt: skip
    if spec.constrained_by_dev:
        constraints = scratch / "dev-pins.txt"
        dev_pins = pins((LOCKS / "dev.txt").read_text())
        constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(dev_pins.items())))
        command += ["--constraint", str(constraints)]
    if spec.wheels_only:
        command += ["--only-binary", ":all:"]
    excludes = scratch / "excludes.txt"
    excludes.write_text("".join(f"{name}\n" for name in sorted(EXCLUDED)))
    command += ["--excludes", str(excludes)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"locking {spec.name} failed:\n{result.stderr}")
    header = (
        f"# The {spec.name} lock: {spec.purpose}.\n"
        f"# CPython {spec.python}, {spec.platform}. Made by `make lock` (locks/lock.py); do not edit.\n"
        f"# inputs-sha256: {inputs_digest(spec)}\n"
    )
    return header + result.stdout


def main(argv: list[str] | None = None) -> int:
    wanted = argv if argv else list(specs())
    all_specs = specs()
    # dev first: the others are constrained by its pins.
    order = sorted(wanted, key=lambda n: n != "dev")
    with tempfile.TemporaryDirectory(prefix="aiorch-lock-") as tmp:
        for name in order:
            text = compile_lock(all_specs[name], Path(tmp))
            (LOCKS / f"{name}.txt").write_text(text)
            print(f"locks/{name}.txt: {len(pins(text))} pins")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
