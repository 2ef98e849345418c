"""The job CLI as the states service runs it: ``python -m jobs ...`` in its own process.

Awkward uploads are processed correctly (size, orientation and alpha kept) or fail with a clear
error.json and a non-zero exit; SIGTERM stops a job promptly; the inpaint acceptance runs
detect-text then inpaint on a photo with rendered text.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.unit.jobs.job_images import (
    WORDS,
    astronaut,
    encoded,
    near_boxes,
    photo_with_text,
    png_header_only,
    sixteen_bit_rgb_png,
    with_exif_orientation,
)

pytestmark = pytest.mark.functional


def run_job(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def upright_rgba(data: bytes) -> np.ndarray:
    """What a correct decoder sees: EXIF orientation applied, as RGBA uint8 (16 bits scaled, not clipped)."""
    image = Image.open(io.BytesIO(data))
    if image.format == "PNG" and data[24] == 16:  # Pillow would clip or truncate 16-bit values
        import cv2

        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        rgb = np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels[..., ::-1]
        rgb8 = np.round(rgb / 257.0).astype(np.uint8)
        return np.dstack([rgb8, np.full(rgb8.shape[:2], 255, np.uint8)])
    return np.asarray(ImageOps.exif_transpose(image).convert("RGBA"))


def test_help_does_not_import_torch() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "jobs", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "detect-text" in done.stdout
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "jobs.cli" in imported
    assert not {name for name in imported if name.split(".")[0] in {"torch", "deepinv", "rapidocr", "cv2"}}


def sixteen_bit_gray() -> bytes:
    ramp = (np.arange(48 * 40, dtype=np.uint32).reshape(40, 48) * 30).astype(np.uint16)
    return encoded(Image.fromarray(ramp))


def rgba_cutout() -> bytes:
    rgba = astronaut(48).convert("RGBA")
    alpha = np.zeros((48, 48), np.uint8)
    alpha[10:40, 5:45] = 255
    rgba.putalpha(Image.fromarray(alpha))
    return encoded(rgba)


AWKWARD_INPUTS = {
    "cmyk-jpeg": lambda: encoded(astronaut(48).convert("CMYK"), "JPEG", quality=95),
    "palette": lambda: encoded(astronaut(48).quantize(colors=32)),
    "rgba": rgba_cutout,
    "grayscale": lambda: encoded(astronaut(48).convert("L")),
    "16-bit-gray": sixteen_bit_gray,
    "16-bit-rgb": lambda: sixteen_bit_rgb_png(
        np.random.default_rng(0).integers(0, 65536, (40, 56, 3)).astype(np.uint16)
    ),
    "exif-rotated": lambda: with_exif_orientation(astronaut(48).resize((64, 40)), 6),
}


@pytest.mark.parametrize("kind", sorted(AWKWARD_INPUTS))
def test_awkward_input_is_processed_upright_with_its_alpha(kind: str, tmp_path: Path) -> None:
    data = AWKWARD_INPUTS[kind]()
    source = tmp_path / f"upload-{kind}"
    source.write_bytes(data)
    expected = upright_rgba(data)
    height, width = expected.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    mask[height // 2 - 3 : height // 2 + 3, width // 2 - 3 : width // 2 + 3] = 255
    (tmp_path / "mask.png").write_bytes(encoded(Image.fromarray(mask)))
    out = tmp_path / "out"

    mask_uri = (tmp_path / "mask.png").as_uri()
    done = run_job("inpaint", "--input", source.as_uri(), "--mask", mask_uri, "--output", f"{out.as_uri()}/")

    assert done.returncode == 0, done.stderr
    result = Image.open(out / "result.png")
    assert result.size == (width, height)  # upright: EXIF rotation applied
    has_alpha = expected[..., 3].min() < 255
    assert (result.mode == "RGBA") == has_alpha
    pixels = np.asarray(result.convert("RGBA")).astype(int)
    untouched = mask == 0
    if kind == "cmyk-jpeg":
        assert np.abs(pixels[..., :3][untouched] - expected[..., :3][untouched]).mean() < 2
    else:
        np.testing.assert_array_equal(pixels[untouched], expected[untouched])
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["input"]["width"] == width and metadata["input"]["height"] == height
    assert metadata["weights"] == "fallback: opencv-fsr-fast"  # the default fill without LaMa weights


BROKEN_INPUTS = {
    "truncated-jpeg": (lambda: encoded(astronaut(64), "JPEG")[:1500], "BadImage", "damaged or incomplete"),
    "truncated-png": (lambda: encoded(astronaut(64))[:2000], "BadImage", "damaged or incomplete"),
    "not-an-image": (lambda: b"%PDF-1.4 not a picture", "BadImage", "not an image"),
    "oversized": (lambda: png_header_only(8000, 6000), "ImageTooLarge", "limit for this operation"),
    "decompression-bomb": (lambda: png_header_only(30000, 30000), "ImageTooLarge", "too many pixels"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_INPUTS))
def test_broken_input_fails_with_a_clear_error_json(kind: str, tmp_path: Path) -> None:
    make, error_type, words = BROKEN_INPUTS[kind]
    source = tmp_path / f"upload-{kind}"
    source.write_bytes(make())
    out = tmp_path / "out"

    done = run_job("denoise", "--input", source.as_uri(), "--output", f"{out.as_uri()}/")

    assert done.returncode != 0
    error = json.loads((out / "error.json").read_text())
    assert error["type"] == error_type and words in error["message"]
    assert "Traceback" not in error["message"]
    assert not (out / "result.png").exists()


@pytest.mark.slow
def test_sigterm_stops_the_job_promptly_with_a_stopped_error(tmp_path: Path) -> None:
    source = tmp_path / "photo.png"
    source.write_bytes(encoded(astronaut(384)))  # BM3D on this takes far longer than the test waits
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs", "denoise", "--input", source.as_uri(), "--output", f"{out.as_uri()}/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            progress = out / "progress.json"
            if progress.exists() and json.loads(progress.read_text())["stage"].startswith("denoising"):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the job never reached the denoising stage")
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 128 + signal.SIGTERM
    assert time.monotonic() - stopped_at < 10
    error = json.loads((out / "error.json").read_text())
    assert error["type"] == "Stopped" and error["job"] == "denoise"
    assert not (out / "metadata.json").exists()


@pytest.mark.slow
def test_inpaint_acceptance_text_is_gone_and_the_rest_is_unchanged(tmp_path: Path) -> None:
    """detect-text then inpaint (the two jobs share keys only), as the state machine runs them."""
    from jobs.text_detection import detect_text

    original = photo_with_text(384)
    source = tmp_path / "upload.png"
    source.write_bytes(encoded(original))
    detect_out, inpaint_out = tmp_path / "detect-text", tmp_path / "inpaint"

    detected = run_job("detect-text", "--input", source.as_uri(), "--output", f"{detect_out.as_uri()}/")
    assert detected.returncode == 0, detected.stderr
    inpainted = run_job(
        "inpaint",
        "--input",
        source.as_uri(),
        "--mask",
        (detect_out / "mask.png").as_uri(),
        "--output",
        f"{inpaint_out.as_uri()}/",
    )
    assert inpainted.returncode == 0, inpainted.stderr

    lines = json.loads((detect_out / "text.json").read_text())["lines"]
    read_before = " ".join(line["text"].upper() for line in lines)
    assert all(word in read_before for word in WORDS)

    result = np.asarray(Image.open(inpaint_out / "result.png").convert("RGB"), np.float32)
    read_after = " ".join(line["text"].upper() for line in detect_text(result / 255.0))
    assert not [word for word in WORDS if word in read_after], read_after

    before = np.asarray(original, np.float32)
    far = ~near_boxes([line["box"] for line in lines], *before.shape[:2], margin=32)
    assert far.mean() > 0.5
    assert np.abs(result - before)[far].mean() <= 1.0

    for out in (detect_out, inpaint_out):
        progress = json.loads((out / "progress.json").read_text())
        assert progress["done"] == progress["total"]
    # Telea, or FSR where OpenCV's contrib build is installed (jobs/inpaint.py)
    assert json.loads((inpaint_out / "metadata.json").read_text())["weights"].startswith("fallback: opencv-")
    assert Image.open(detect_out / "result.png").size == original.size
