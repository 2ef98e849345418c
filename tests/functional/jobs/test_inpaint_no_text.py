"""Remove text with default options, as the state machine runs it (detect-text, then inpaint, each
``python -m jobs ...`` in its own process): a photo with no text comes back unchanged with "No text
found"; on a photo with rendered text, OCR reads none of its words in the result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.inpaint_fixtures import photo, text_fixture

pytestmark = [pytest.mark.functional, pytest.mark.slow]


def remove_text(source: Path, tmp_path: Path) -> tuple[Path, Path]:
    detect_out, inpaint_out = tmp_path / "detect-text", tmp_path / "inpaint"
    for job, extra in (("detect-text", []), ("inpaint", ["--mask", (detect_out / "mask.png").as_uri()])):
        out = detect_out if job == "detect-text" else inpaint_out
        done = subprocess.run(
            [sys.executable, "-m", "jobs", job, "--input", source.as_uri(), *extra, "--output", f"{out.as_uri()}/"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    return detect_out, inpaint_out


def as_png(pixels: np.ndarray, path: Path) -> Path:
    Image.fromarray((pixels * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def test_the_cat_comes_back_unchanged_with_no_text_found(tmp_path: Path) -> None:
    source = as_png(photo("chelsea", 900), tmp_path / "chelsea.png")  # PP-OCR reads each eye as a "0"
    detect_out, inpaint_out = remove_text(source, tmp_path)
    np.testing.assert_array_equal(
        np.asarray(Image.open(inpaint_out / "result.png").convert("RGB")), np.asarray(Image.open(source))
    )
    for out in (detect_out, inpaint_out):
        metadata = json.loads((out / "metadata.json").read_text())
        assert metadata["outcome"] == "No text found: nothing changed" and metadata["unchanged"] is True
        assert metadata["warnings"] == []


def test_rendered_words_are_gone(tmp_path: Path) -> None:
    from jobs.text_detection import detect_text_tiled

    fixture = text_fixture("chelsea-caption")
    source = as_png(fixture.texted, tmp_path / "caption.png")
    _, inpaint_out = remove_text(source, tmp_path)
    metadata = json.loads((inpaint_out / "metadata.json").read_text())
    assert "outcome" not in metadata and metadata["weights"].startswith("fallback: opencv-")
    result = np.asarray(Image.open(inpaint_out / "result.png").convert("RGB"), np.float32) / 255.0
    read = " ".join(line["text"].lower() for line in detect_text_tiled(result))
    words = [word for text in fixture.words for word in text.lower().split()]
    assert not [word for word in words if word in read], read
