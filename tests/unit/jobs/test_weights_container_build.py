"""jobs/Dockerfile, read as text (no Docker engine here): the properties the job image promises."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from jobs.weights import REGISTRY
from tests.lockfiles import lock

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "jobs" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def build_args() -> dict[str, str]:
    args = {}
    for keyword, rest in instructions():
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
    return args


def test_the_image_runs_the_job_cli_as_a_non_root_user() -> None:
    stage = final_stage()
    users = [rest for keyword, rest in stage if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    (entrypoint,) = [rest for keyword, rest in stage if keyword == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["python", "-m", "jobs"]


def test_one_cuda_stack_the_wheels_and_python_is_the_projects_version() -> None:
    """The torch wheels bring CUDA (nvidia-* in the lock); a CUDA base image would be a second copy."""
    assert build_args()["BASE_IMAGE"].startswith("ubuntu:")
    assert re.search(r"NVIDIA_DRIVER_CAPABILITIES=compute,utility", DOCKERFILE.read_text())
    assert "python3.11" in DOCKERFILE.read_text()
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"].startswith(">=3.11")


@pytest.mark.parametrize(
    "entry", [e for e in REGISTRY.values() if e.source == "container" and e.sha256], ids=lambda e: e.name
)
def test_every_container_weight_is_downloaded_and_checked_against_the_registry(entry) -> None:
    args = build_args()
    url_arg = next(name for name, value in args.items() if value == entry.url)
    sha_arg = url_arg.removesuffix("_URL") + "_SHA256"
    assert args[sha_arg] == entry.sha256
    assert re.search(rf'fetch "\${url_arg}" {re.escape(entry.file)} "\${sha_arg}"', DOCKERFILE.read_text())


def test_an_unpinned_weight_is_fetched_only_with_the_builder_s_sha256_under_the_registry_s_file_name() -> None:
    unpinned = [e for e in REGISTRY.values() if e.source == "container" and not e.sha256]
    assert [e.name for e in unpinned] == ["drunet"]
    assert re.search(rf'fetch "\$DRUNET_URL" {re.escape(unpinned[0].file)} "\$DRUNET_SHA256"', DOCKERFILE.read_text())


def test_the_image_writes_its_weights_manifest_for_the_api() -> None:
    assert "write_manifest()" in DOCKERFILE.read_text()


def test_downloads_fail_the_build_unless_their_sha256_matches() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"fetch\(\) \{ curl -fsSL [^}]*sha256sum -c -; \}", text)
    assert "set -eu" in text  # a failed check stops the RUN, and with it the build
    # DRUNet has no pinned published checksum: asking for it without one is refused.
    assert build_args()["DRUNET_SHA256"] == ""
    assert re.search(r'\[ -n "\$DRUNET_SHA256" \] \|\| \{[^}]*exit 1; \}', text)
    assert not re.search(r"(curl|wget)[^\n]*\|\s*(sh|bash)\b", text)  # no piping downloads into a shell


def test_only_the_jobs_extra_is_installed_from_its_hash_checked_lock() -> None:
    installs = [rest for keyword, rest in final_stage() if keyword == "RUN" and "pip install" in rest]
    locked_install, project = "--require-hashes --no-deps -r locks/jobs.txt", '--no-deps --no-build-isolation ".[jobs]"'
    assert any(locked_install in rest and project in rest for rest in installs)
    assert not re.search(r"--(extra-)?index-url", " ".join(installs))  # one index: the lock's hashes are PyPI's
    assert not any(extra in " ".join(installs) for extra in ("lambdas", "local", "dev]"))
    assert "!locks/jobs.txt" in (ROOT / "jobs" / "Dockerfile.dockerignore").read_text()
    locked = lock.pins((ROOT / "locks" / "jobs.txt").read_text())
    web_stack = {"fastapi", "uvicorn", "mangum", "moto", "starlette", "aws-lambda-powertools"}
    assert not web_stack & set(locked)
    assert {"torch", "deepinv", "spandrel", "rapidocr"} <= set(locked)
