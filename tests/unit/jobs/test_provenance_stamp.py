"""jobs/provenance.py: each result written by a job carries its provenance, signed with the deployment's key."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from aiorch import provenance
from aiorch.provenance import Verdict
from aiorch.settings import Settings
from jobs import build_info, cli
from jobs import provenance as stamping
from tests.unit.jobs.job_images import astronaut

EXECUTION = "01JEXAMPLE0000000000000000"


def denoise(settings: Settings, tmp_path: Path, fmt: str = "png", options: dict | None = None) -> tuple[bytes, dict]:
    source = tmp_path / "photo.png"
    astronaut(32).save(source)
    out = tmp_path / "storage" / "results" / "local" / EXECUTION / "denoise"
    argv = ["denoise", "--input", source.as_uri(), "--output", out.as_uri() + "/"]
    given = {"method": "tv", "format": fmt, **(options or {})}
    assert cli.main([*argv, "--options", json.dumps(given)], settings=settings) == 0
    metadata = json.loads((out / "metadata.json").read_text())
    return (out / f"result.{'jpg' if fmt == 'jpeg' else fmt}").read_bytes(), metadata


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_a_job_result_verifies_with_the_deployment_key(settings: Settings, tmp_path: Path, fmt: str) -> None:
    data, metadata = denoise(settings, tmp_path, fmt)
    checked = provenance.verify(data, stamping.provenance_key(settings, create=False))
    assert checked.verdict is Verdict.ours_unchanged
    assert checked.record is not None
    assert checked.record["operation"] == "denoise" and checked.record["execution_id"] == EXECUTION
    assert checked.record["options"] == {"method": "tv", "format": fmt}
    assert checked.record["device"] == metadata["device"] and checked.record["model"] == metadata["model"]
    assert checked.record["version"] == {"package": "0.1.0", "commit": "unknown"}
    assert metadata["output"]["bytes"] == len(data)  # metadata.json describes the file as written


def test_without_a_key_the_provenance_is_unsigned_and_the_metadata_says_so(settings: Settings, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"provenance_key_file": tmp_path / "no-such-key"})
    data, metadata = denoise(settings, tmp_path)
    assert provenance.verify(data, None).verdict is Verdict.unsigned
    assert any("unsigned" in note for note in metadata["notes"])
    assert not (tmp_path / "no-such-key").exists()  # a named key file is read, never made up


def test_the_default_key_file_is_made_once_and_private(settings: Settings) -> None:
    assert stamping.provenance_key(settings, create=False) is None  # verifying never creates it
    key = stamping.provenance_key(settings, create=True)
    path = stamping.default_key_file(settings)
    assert key and len(key) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stamping.provenance_key(settings, create=True) == key


def test_the_key_setting_wins_over_the_file(settings: Settings) -> None:
    configured = Settings(data_dir=settings.data_dir, provenance_key=SecretStr("from the secret store"))
    assert stamping.provenance_key(configured, create=True) == b"from the secret store"
    assert not stamping.default_key_file(settings).exists()


@pytest.mark.parametrize(
    ("prefix", "execution"),
    [
        (f"file:///srv/data/storage/results/local/{EXECUTION}/upscale/", EXECUTION),
        (f"s3://bucket/results/user-1/{EXECUTION}/inpaint/003/", EXECUTION),
        (f"results/user-1/{EXECUTION}/denoise/", EXECUTION),
        ("file:///tmp/out/", None),
        (f"s3://bucket/results/user-1/{EXECUTION}/", None),
    ],
)
def test_the_execution_id_comes_from_the_result_prefix(prefix: str, execution: str | None) -> None:
    assert stamping.execution_id_from_prefix(prefix) == execution


def test_weights_and_options_name_files_never_server_paths() -> None:
    container = {"model": "realesrgan-x4plus", "weights": "/opt/aiorch/weights/RealESRGAN_x4plus.pth"}
    assert stamping.weights_named({**container, "weights_sha256": "ab" * 32}) == [
        {"name": "RealESRGAN_x4plus.pth", "sha256": "ab" * 32}
    ]
    ocr = {"weights": "rapidocr wheel: det.onnx", "weights_sha256": {"det.onnx": "cd" * 32}}
    assert stamping.weights_named(ocr) == [{"name": "det.onnx", "sha256": "cd" * 32}]
    assert stamping.weights_named({"weights": "fallback: telea", "weights_sha256": None}) == []
    options = {"weights": "s3://bucket/private/mine.pth", "tile": 128}
    assert stamping.options_without_paths(options) == {"weights": "mine.pth", "tile": 128}


def dockerfile_commit_step() -> str:
    """The job image's RUN step that writes the build commit into jobs/build_info.py, as one shell line."""
    text = (Path(__file__).resolve().parents[3] / "jobs" / "Dockerfile").read_text()
    joined = text.replace("\\\n", " ")
    (step,) = [line for line in joined.splitlines() if line.startswith("RUN ") and "AIORCH_COMMIT" in line]
    return step[len("RUN ") :]


@pytest.mark.parametrize(
    ("given", "commit"), [("0123abcd" * 5, "0123abcd" * 5), ("", None), ('x"; import os; "', None)]
)
def test_the_image_build_writes_a_hex_commit_and_nothing_else(tmp_path: Path, given: str, commit: str | None) -> None:
    (tmp_path / "jobs").mkdir()
    shipped = Path(build_info.__file__).read_text()
    (tmp_path / "jobs" / "build_info.py").write_text(shipped)
    env = {"PATH": "/usr/bin:/bin", "AIORCH_COMMIT": given}
    subprocess.run(["sh", "-c", dockerfile_commit_step()], cwd=tmp_path, env=env, check=True)
    written: dict = {}
    exec((tmp_path / "jobs" / "build_info.py").read_text(), written)
    assert written["COMMIT"] == commit
