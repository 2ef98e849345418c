"""Build the Lambda package: one reproducible zip for every function.

The zip holds the project's light code (``aiorch/``, ``lambdas/``, ``workflows/`` without
the local states service, and ``analytics/`` for the table schema and the SQL) plus the
core and ``lambdas`` dependencies from pyproject.toml, installed for the Lambda runtime
(Amazon Linux 2 x86_64, CPython 3.11) at the versions installed in the running
environment, so the package carries what the tests ran against (where a version has no
wheel for Lambda's platform, the build says so and takes the newest that fits). No torch:
the build refuses it.

Reproducible: entries are sorted, timestamps fixed (SOURCE_DATE_EPOCH, default
1980-01-01), permissions normalised and bytecode left out, so the same inputs give the
same bytes and Terraform's content-addressed upload key does not change.

    python iac/scripts/build_lambda_zip.py                      # -> iac/build/lambda.zip
    python iac/scripts/build_lambda_zip.py --no-deps -o x.zip   # project code only
    python iac/scripts/build_lambda_zip.py --deps-cache .tox/lambda-deps   # pip runs once per input set

With ``--deps-cache`` the installed dependencies are kept in that folder under a key of
everything that decides them (requirements, the versions installed here, platform tags,
Python version), so a second build with the same inputs runs no pip at all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "iac" / "build" / "lambda.zip"

# (folder, file suffixes kept, sub-folders left out)
PROJECT_TREES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("aiorch", (".py", ".json", ".sql"), ()),
    ("lambdas", (".py", ".json"), ()),
    # The local states service (moto and its hooks) never runs in Lambda.
    ("workflows", (".py", ".json"), ("local",)),
    ("analytics", (".json", ".sql"), ()),
]
SKIPPED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}
FORBIDDEN_DISTRIBUTIONS = {"torch", "torchvision", "nvidia", "triton"}
LAMBDA_PYTHON = "3.11"
# The python3.11 runtime runs on Amazon Linux 2 (glibc 2.26, x86_64): wheels for glibc <= 2.26.
LAMBDA_PLATFORMS = [
    arg
    for tag in [f"manylinux_2_{minor}_x86_64" for minor in range(26, 16, -1)]
    + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    for arg in ("--platform", tag)
]


class BuildError(RuntimeError):
    """The package cannot be built as asked."""


def fixed_date_time() -> tuple[int, int, int, int, int, int]:
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01, zip's earliest date
    return time.gmtime(max(epoch, 315532800))[:6]


def project_files(repo: Path = REPO) -> Iterator[tuple[str, Path]]:
    """(name in the zip, file on disk) for the project's own code and data."""
    for folder, suffixes, skipped in PROJECT_TREES:
        root = repo / folder
        if not root.is_dir():
            raise BuildError(f"{root} is missing")
        for path in root.rglob("*"):
            rel = path.relative_to(root)
            if not path.is_file() or path.suffix not in suffixes:
                continue
            if SKIPPED_PARTS.intersection(rel.parts) or (rel.parts and rel.parts[0] in skipped):
                continue
            yield f"{folder}/{rel.as_posix()}", path


def dependency_requirements(repo: Path = REPO) -> list[str]:
    """Core + ``lambdas`` requirements, as pyproject.toml states them."""
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"]) + list(project["optional-dependencies"]["lambdas"])
    for req in requirements:
        name = re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0]
        if name.lower() in FORBIDDEN_DISTRIBUTIONS:
            raise BuildError(f"{name} must not be a Lambda dependency")
    return sorted(requirements, key=str.lower)


def installed_pins() -> dict[str, str]:
    """name -> version of every distribution installed here (the versions the tests ran against)."""
    pins = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() != "aiorch":
            pins[name.lower()] = dist.version
    return pins


# pip's ways of naming the requirement it could not meet.
_BLAMED = [
    re.compile(r"Cannot install (.+?) because"),
    re.compile(r"No matching distribution found for (\S+)"),
    re.compile(r"\(constraint\) (\S+)"),
]
_NAME = re.compile(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(?:[<>=!~]=?[^\s,]*)?")


def blamed_distributions(pip_stderr: str) -> set[str]:
    """Lower-case names of the distributions pip says it could not install."""
    names = set()
    for pattern in _BLAMED:
        for found in pattern.findall(pip_stderr):
            for part in re.split(r",\s*|\s+and\s+", found):
                if m := _NAME.match(part.strip()):
                    names.add(m.group(1).lower())
    return names


def install_dependencies(requirements: list[str], target: Path) -> dict[str, str]:
    """Install for the Lambda platform, constrained to the versions installed here.

    Where such a version has no wheel for Lambda's platform (Amazon Linux 2, glibc 2.26;
    e.g. a Pillow that needs glibc 2.27), that one constraint is dropped and pip picks the
    newest release that fits. Returns those fallbacks: name -> version installed here.
    """
    pins = installed_pins()
    fallbacks: dict[str, str] = {}
    constraints = target.parent / "constraints.txt"
    for _ in range(20):
        constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--upgrade", "--target", str(target), *LAMBDA_PLATFORMS, "--implementation", "cp",
            "--python-version", LAMBDA_PYTHON, "--only-binary=:all:", "--constraint", str(constraints),
            *requirements,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode == 0:
            break
        blamed = blamed_distributions(result.stderr) & set(pins)
        if not blamed:
            raise BuildError(f"pip could not install the Lambda dependencies:\n{result.stderr[-4000:]}")
        for name in blamed:
            fallbacks[name] = pins.pop(name)
    else:
        raise BuildError("pip kept failing after dropping 20 version constraints")
    found = {p.name.split("-")[0].lower() for p in target.glob("*.dist-info")}
    forbidden = found & FORBIDDEN_DISTRIBUTIONS
    if forbidden:
        raise BuildError(f"the Lambda dependencies pulled in {sorted(forbidden)}")
    return fallbacks


def cached_dependencies(requirements: list[str], cache: Path) -> tuple[Path, dict[str, str]]:
    """``install_dependencies`` into ``cache/<key>/site``, reused while its inputs are the same."""
    inputs = json.dumps(
        [requirements, sorted(installed_pins().items()), LAMBDA_PLATFORMS, LAMBDA_PYTHON], sort_keys=True
    )
    entry = cache / hashlib.sha256(inputs.encode()).hexdigest()[:16]
    done = entry / "fallbacks.json"  # written last: its presence means the install completed
    if not done.is_file():
        if entry.exists():
            shutil.rmtree(entry)  # an interrupted install
        entry.mkdir(parents=True)
        fallbacks = install_dependencies(requirements, entry / "site")
        done.write_text(json.dumps(fallbacks, sort_keys=True))
    return entry / "site", json.loads(done.read_text())


def dependency_files(target: Path) -> Iterator[tuple[str, Path]]:
    for path in target.rglob("*"):
        rel = path.relative_to(target)
        if path.is_file() and not SKIPPED_PARTS.intersection(rel.parts) and path.suffix != ".pyc":
            # pip's RECORD lists absolute install paths of this build machine: not reproducible.
            if rel.name == "RECORD" and rel.parent.name.endswith(".dist-info"):
                continue
            yield rel.as_posix(), path


def write_zip(entries: dict[str, Path], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    stamp = fixed_date_time()
    tmp = output.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(entries):
            source = entries[name]
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = source.stat().st_mode & stat.S_IXUSR
            info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
            info.create_system = 3  # Unix, whatever machine builds it
            zf.writestr(info, source.read_bytes(), compresslevel=9)
    tmp.replace(output)


def build(
    output: Path, with_dependencies: bool = True, repo: Path = REPO, deps_cache: Path | None = None
) -> tuple[str, dict[str, str]]:
    """Write the zip; return its sha256 and the version fallbacks (see install_dependencies)."""
    entries: dict[str, Path] = dict(project_files(repo))
    fallbacks: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="aiorch-lambda-") as tmp:
        if with_dependencies:
            if deps_cache is not None:
                target, fallbacks = cached_dependencies(dependency_requirements(repo), deps_cache)
            else:
                target = Path(tmp) / "site"
                fallbacks = install_dependencies(dependency_requirements(repo), target)
            for name, path in dependency_files(target):
                # The project's own code wins over anything a dependency ships under the same name.
                entries.setdefault(name, path)
        write_zip(entries, output)
    return hashlib.sha256(output.read_bytes()).hexdigest(), fallbacks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}")
    parser.add_argument(
        "--no-deps", action="store_true", help="project code only (for emulators that never run the code)"
    )
    parser.add_argument("--deps-cache", type=Path, help="keep the installed dependencies here, keyed by their inputs")
    args = parser.parse_args(argv)
    try:
        digest, fallbacks = build(args.output, with_dependencies=not args.no_deps, deps_cache=args.deps_cache)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for name, version in sorted(fallbacks.items()):
        print(f"fallback: {name} {version} has no wheel for the Lambda platform; the zip has the newest that fits")
    size_mb = args.output.stat().st_size / 1e6
    print(f"{args.output} {size_mb:.1f} MB sha256={digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
