"""Remove text on a photo without text, over the local stack: the execution SUCCEEDS, and `aiorch process`,
`aiorch executions show` and the API's execution view all say "No text found: nothing changed"; the JPEG
that comes back is the uploaded file itself, byte for byte (nothing was re-encoded)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from aiorch import provenance
from aiorch.analysis import AnalysisService
from aiorch.settings import Settings
from bench.inpaint_fixtures import photo
from lambdas.api.app import create_app
from lambdas.api.auth import issue_local_token
from tests.support import free_port

pytestmark = [pytest.mark.functional, pytest.mark.slow]

NO_TEXT = "No text found: nothing changed"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Settings]]:
    data_dir, port = tmp_path_factory.mktemp("no-text"), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIORCH_")}
    env |= {"AIORCH_DATA_DIR": str(data_dir), "AIORCH_STATES_PORT": str(port), "AIORCH_JOB_SLOTS": "1"}
    yield env, Settings(data_dir=data_dir, states_port=port)
    subprocess.run([sys.executable, "-m", "aiorch_local.cli", "states", "stop"], env=env, timeout=60, check=False)


def aiorch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiorch_local.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )


def test_a_photo_without_text_succeeds_unchanged_and_every_view_says_so(stack, tmp_path: Path) -> None:
    env, settings = stack
    source = tmp_path / "cat.jpg"
    pixels = (photo("chelsea", 400) * 255 + 0.5).astype(np.uint8)  # PP-OCR reads each eye as a "0" (dropped)
    Image.fromarray(pixels).save(source, quality=90)
    out = tmp_path / "cat-no-text.jpg"

    done = aiorch(env, "process", str(source), "--operation", "inpaint", "--option", "format=jpeg", "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["status"] == "SUCCEEDED" and lines["outcome"] == NO_TEXT, done.stdout
    # Unchanged means the very same file, its provenance added beside the untouched pixel data.
    assert provenance.strip(out.read_bytes()) == source.read_bytes()

    shown = aiorch(env, "executions", "show", lines["execution"])
    assert shown.returncode == 0, shown.stderr
    assert f"outcome {NO_TEXT}" in shown.stdout.splitlines(), shown.stdout

    client = TestClient(create_app(settings, AnalysisService(settings)))
    token = issue_local_token(settings, settings.local_user)
    answer = client.get(f"/image-ai-analysis/{lines['execution']}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view["status"] == "SUCCEEDED" and view["outcome"] == NO_TEXT and view["unchanged"] is True
    assert view["metadata"]["inpaint"]["output"]["bytes"] == out.stat().st_size
