"""Unchanged means unchanged: an inpaint that fills nothing (an empty mask: no text found), asked for in the
input's own format, writes the input file itself, its provenance added beside the untouched pixel data;
another format is encoded as usual."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from aiorch import provenance
from aiorch.settings import Settings
from jobs import cli
from tests.unit.jobs.job_images import astronaut


def inputs(tmp_path: Path, fmt: str) -> tuple[Path, Path]:
    source, mask = tmp_path / f"photo.{fmt}", tmp_path / "mask.png"
    astronaut(64).save(source, quality=80)
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(mask)
    return source, mask


def inpaint(tmp_path: Path, settings: Settings, source: Path, mask: Path, fmt: str) -> tuple[bytes, dict]:
    out = tmp_path / f"out-{fmt}"
    argv = ["inpaint", "--input", source.as_uri(), "--mask", mask.as_uri(), "--output", out.as_uri() + "/"]
    assert cli.main([*argv, "--options", json.dumps({"format": fmt})], settings=settings) == 0
    metadata = json.loads((out / "metadata.json").read_text())
    return (out / f"result.{metadata['output']['format'].replace('jpeg', 'jpg')}").read_bytes(), metadata


def test_a_jpeg_left_unchanged_comes_back_as_the_same_bytes_plus_its_provenance(
    tmp_path: Path, settings: Settings
) -> None:
    source, mask = inputs(tmp_path, "jpg")
    data, metadata = inpaint(tmp_path, settings, source, mask, "jpeg")
    assert metadata["unchanged"] is True and metadata["outcome"] == "No text found: nothing changed"
    assert provenance.strip(data) == source.read_bytes() and provenance.read(data) is not None
    assert metadata["output"]["bytes"] == len(data)
    assert any("not re-encoded" in note for note in metadata["notes"])
    assert (tmp_path / "out-jpeg" / "thumbnail.webp").is_file()


def test_an_unchanged_jpeg_asked_for_as_png_is_encoded_pixel_for_pixel(tmp_path: Path, settings: Settings) -> None:
    source, mask = inputs(tmp_path, "jpg")
    data, metadata = inpaint(tmp_path, settings, source, mask, "png")
    assert data != source.read_bytes() and data.startswith(b"\x89PNG")
    with Image.open(source) as original, Image.open(io.BytesIO(data)) as result:
        np.testing.assert_array_equal(np.asarray(result.convert("RGB")), np.asarray(original.convert("RGB")))
    assert not any("not re-encoded" in note for note in metadata["notes"])


def test_a_png_left_unchanged_is_the_same_file_plus_its_provenance_too(tmp_path: Path, settings: Settings) -> None:
    source, mask = inputs(tmp_path, "png")
    data, _ = inpaint(tmp_path, settings, source, mask, "png")
    assert provenance.strip(data) == source.read_bytes() and provenance.read(data) is not None
