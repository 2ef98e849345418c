"""Build the Lambda package: one reproducible zip for every function.

The zip holds the project's light code (``aiorch/``, ``lambdas/``, ``workflows/`` without
the local states service, and ``analytics/`` for the table schema and the SQL) plus the
core and ``lambdas`` dependencies exactly as ``locks/lambda.txt`` pins them (the versions of
``locks/dev.txt``, which the suite runs), installed from wheels for the Lambda runtime
(python3.12 on Amazon Linux 2023, x86_64) with every hash checked. A locked version with no
wheel for that platform stops the build by name: no silent fallback. No torch: the build
refuses it.

Reproducible: entries are sorted, timestamps fixed (SOURCE_DATE_EPOCH, default
1980-01-01), permissions normalised and bytecode left out, so the same inputs give the
same bytes and Terraform's content-addressed upload key does not change.

    python iac/scripts/build_lambda_zip.py                      # -> iac/build/lambda.zip
    python iac/scripts/build_lambda_zip.py --no-deps -o x.zip   # project code only
    python iac/scripts/build_lambda_zip.py --deps-cache .tox/lambda-deps   # pip runs once per input set

With ``--deps-cache`` the installed dependencies are kept in that folder under a key of
everything that decides them (the lock, platform tags, Python version), so a second build
with the same inputs runs no pip at all.
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
import zipfile
from collections.abc import Iterator
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
# Parts of locked wheels no function loads, left out to stay inside Lambda's size limit: pyarrow's
# C++ headers, Cython sources and tests, and its Flight libraries (the package
# writes Parquet only). The IaC harness runs every handler from the trimmed package.
TRIMMED = re.compile(
    r"^pyarrow/(include|includes|src|tests)/"
    r"|^pyarrow/(lib)?(arrow_flight|_flight|arrow_python_flight)[^/]*$"
    r"|^pyarrow/.*\.(pxd|pyx|pxi|h|cc)$"
)
# "Deployment package size: 250 MB (unzipped)", Lambda quotas in the AWS Lambda Developer Guide.
LAMBDA_UNZIPPED_LIMIT = 262_144_000
FORBIDDEN_DISTRIBUTIONS = {"torch", "torchvision", "nvidia", "triton"}
LOCK = "locks/lambda.txt"
# The python3.12 runtime runs on Amazon Linux 2023 (glibc 2.34, x86_64); its end of support is
# 2028 on the AWS Lambda runtimes page, where python3.11 (Amazon Linux 2) is already deprecated.
# iac/modules/lambdas' `runtime` and locks/lock.py's lambda target say the same (tests hold them).
LAMBDA_PYTHON = "3.12"
LAMBDA_GLIBC_MINOR = 34


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


def locked_requirements(repo: Path = REPO) -> str:
    """locks/lambda.txt: the core + ``lambdas`` closure, every version and artifact hash pinned."""
    lock = repo / LOCK
    if not lock.is_file():
        raise BuildError(f"{lock} is missing: run `make lock`")
    text = lock.read_text()
    for line in text.splitlines():
        name = re.split(r"[\[<>=!~; ]", line.strip(), maxsplit=1)[0]
        if name and not line.startswith((" ", "#")) and name.lower() in FORBIDDEN_DISTRIBUTIONS:
            raise BuildError(f"{name} must not be a Lambda dependency")
    return text


def pip_platform_args(glibc_minor: int = LAMBDA_GLIBC_MINOR) -> list[str]:
    """Every manylinux tag a glibc of that version runs, newest first."""
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(glibc_minor, 16, -1)] + ["manylinux2014_x86_64"]
    return [arg for tag in tags for arg in ("--platform", tag)]


_NO_WHEEL = re.compile(r"No matching distribution found for ([A-Za-z0-9_.-]+)==(\S+)")


def install_dependencies(
    lock_text: str, target: Path, python: str = LAMBDA_PYTHON, glibc_minor: int = LAMBDA_GLIBC_MINOR
) -> None:
    """pip installs the lock for Lambda's platform: wheels only, hashes required, nothing else.

    A locked version with no wheel for that platform stops the build, naming the package: the
    package never holds a version the suite did not run.
    """
    target.mkdir(parents=True, exist_ok=True)
    lock = target.parent / "lambda-lock.txt"
    lock.write_text(lock_text)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target), *pip_platform_args(glibc_minor), "--implementation", "cp", "--python-version", python,
        "--only-binary=:all:", "--require-hashes", "--no-deps", "-r", str(lock),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        missing = _NO_WHEEL.search(result.stderr)
        if missing:
            raise BuildError(
                f"{missing.group(1)} {missing.group(2)} (locked in {LOCK}) has no wheel for CPython {python} on "
                f"manylinux_2_{glibc_minor} x86_64, Lambda's platform: lock a version that has one "
                "(`make lock`), or change the runtime"
            )
        raise BuildError(f"pip could not install the Lambda dependencies:\n{result.stderr[-4000:]}")
    found = {p.name.split("-")[0].lower() for p in target.glob("*.dist-info")}
    forbidden = found & FORBIDDEN_DISTRIBUTIONS
    if forbidden:
        raise BuildError(f"the Lambda dependencies pulled in {sorted(forbidden)}")


def cached_dependencies(lock_text: str, cache: Path, python: str = LAMBDA_PYTHON) -> Path:
    """``install_dependencies`` into ``cache/<key>/site``, reused while its inputs are the same."""
    inputs = json.dumps([lock_text, pip_platform_args(), python], sort_keys=True)
    entry = cache / hashlib.sha256(inputs.encode()).hexdigest()[:16]
    done = entry / "done"  # written last: its presence means the install completed
    if not done.is_file():
        if entry.exists():
            shutil.rmtree(entry)  # an interrupted install
        entry.mkdir(parents=True)
        install_dependencies(lock_text, entry / "site", python)
        done.write_text(python)
    return entry / "site"


def dependency_files(target: Path) -> Iterator[tuple[str, Path]]:
    for path in target.rglob("*"):
        rel = path.relative_to(target)
        if path.is_file() and not SKIPPED_PARTS.intersection(rel.parts) and path.suffix != ".pyc":
            # pip's RECORD lists absolute install paths of this build machine: not reproducible.
            if rel.name == "RECORD" and rel.parent.name.endswith(".dist-info"):
                continue
            if TRIMMED.search(rel.as_posix()):
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
    output: Path,
    with_dependencies: bool = True,
    repo: Path = REPO,
    deps_cache: Path | None = None,
    python: str = LAMBDA_PYTHON,
) -> str:
    """Write the zip; return its sha256. ``python`` is the CPython the wheels are for: Lambda's,
    unless a harness on another interpreter runs the same locked versions."""
    entries: dict[str, Path] = dict(project_files(repo))
    with tempfile.TemporaryDirectory(prefix="aiorch-lambda-") as tmp:
        if with_dependencies:
            lock_text = locked_requirements(repo)
            if deps_cache is not None:
                target = cached_dependencies(lock_text, deps_cache, python)
            else:
                target = Path(tmp) / "site"
                install_dependencies(lock_text, target, python)
            for name, path in dependency_files(target):
                # The project's own code wins over anything a dependency ships under the same name.
                entries.setdefault(name, path)
        unpacked = sum(path.stat().st_size for path in entries.values())
        if unpacked > LAMBDA_UNZIPPED_LIMIT:
            raise BuildError(
                f"the package is {unpacked / 2**20:.0f} MiB unzipped, over Lambda's "
                f"{LAMBDA_UNZIPPED_LIMIT / 2**20:.0f} MiB: trim a dependency (TRIMMED) or drop one"
            )
        write_zip(entries, output)
    return hashlib.sha256(output.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}")
    parser.add_argument(
        "--no-deps", action="store_true", help="project code only (for emulators that never run the code)"
    )
    parser.add_argument("--deps-cache", type=Path, help="keep the installed dependencies here, keyed by their inputs")
    args = parser.parse_args(argv)
    try:
        digest = build(args.output, with_dependencies=not args.no_deps, deps_cache=args.deps_cache)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(args.output) as zf:
        unpacked = sum(info.file_size for info in zf.infolist())
    print(
        f"{args.output} {args.output.stat().st_size / 2**20:.1f} MiB zipped, {unpacked / 2**20:.1f} MiB unzipped "
        f"(Lambda's limit {LAMBDA_UNZIPPED_LIMIT / 2**20:.0f} MiB) sha256={digest}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
