"""The job entry point, run in-process: what it writes on success, and error.json on every kind of failure."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiorch import provenance
from aiorch.settings import Settings
from jobs import cli, timing
from tests.unit.jobs.job_images import astronaut, encoded

METADATA_KEYS = {
    "operation",
    "model",
    "weights",
    "weights_sha256",
    "fallback",
    "device",
    "precision",
    "tile",
    "tiles",
    "input",
    "output",
    "timings_s",
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    return tmp_path


def put(workdir: Path, name: str, data: bytes) -> str:
    path = workdir / "in" / name
    path.write_bytes(data)
    return path.as_uri()


def run(workdir: Path, settings: Settings, *args: str) -> tuple[int, Path]:
    out = workdir / "out"
    code = cli.main([*args, "--output", out.as_uri() + "/"], settings=settings)
    return code, out


def error_of(out: Path) -> dict:
    return json.loads((out / "error.json").read_text())


def test_denoise_writes_result_metadata_and_finished_progress(workdir: Path, settings: Settings) -> None:
    source = put(workdir, "photo.png", encoded(astronaut(48)))
    code, out = run(workdir, settings, "denoise", "--input", source, "--options", '{"method": "wavelet"}')

    assert code == 0
    assert not (out / "error.json").exists()
    result = Image.open(out / "result.png")
    assert result.size == (48, 48) and result.mode == "RGB"
    metadata = json.loads((out / "metadata.json").read_text())
    assert set(metadata) >= METADATA_KEYS
    assert metadata["operation"] == "denoise"
    assert metadata["weights"] == "fallback: wavelet" and metadata["fallback"] is True
    assert metadata["device"] == "cpu"
    assert metadata["input"]["width"] == 48 and metadata["output"]["format"] == "png"
    assert metadata["output"]["bytes"] == (out / "result.png").stat().st_size
    assert {"decode", "model", "encode"} <= set(metadata["timings_s"])
    progress = json.loads((out / "progress.json").read_text())
    assert progress["done"] == progress["total"] and progress["stage"] == "done"


def test_a_job_writes_a_small_thumbnail_beside_the_result_and_names_it(workdir: Path, settings: Settings) -> None:
    source = put(workdir, "wide.png", encoded(astronaut(300).resize((400, 300))))
    code, out = run(workdir, settings, "denoise", "--input", source, "--options", '{"method": "tv", "format": "jpeg"}')
    assert code == 0
    thumbnail = Image.open(out / "thumbnail.webp")
    assert thumbnail.format == "WEBP" and thumbnail.size == (256, 192)  # 256 px on the longer side, 4:3 kept
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["thumbnail"] == {
        "file": "thumbnail.webp",
        "width": 256,
        "height": 192,
        "bytes": (out / "thumbnail.webp").stat().st_size,
        "format": "webp",
    }
    assert metadata["output"]["width"] == 400  # the result itself is untouched
    # It looks like the result.
    result = Image.open(out / "result.jpg").convert("RGB").resize((256, 192), Image.Resampling.BOX)
    difference = np.abs(np.asarray(thumbnail.convert("RGB"), np.float32) - np.asarray(result, np.float32))
    assert difference.mean() < 10


def test_a_small_result_gets_a_thumbnail_of_its_own_size(workdir: Path, settings: Settings) -> None:
    source = put(workdir, "tall.png", encoded(astronaut(40).resize((30, 40))))
    code, out = run(workdir, settings, "denoise", "--input", source, "--options", '{"method": "wavelet"}')
    assert code == 0
    assert Image.open(out / "thumbnail.webp").size == (30, 40)  # never scaled up
    assert json.loads((out / "metadata.json").read_text())["thumbnail"]["width"] == 30


def test_output_format_and_quality_options(workdir: Path, settings: Settings) -> None:
    source = put(workdir, "photo.png", encoded(astronaut(32)))
    options = json.dumps({"method": "wavelet", "format": "webp", "quality": 80})
    code, out = run(workdir, settings, "denoise", "--input", source, "--options", options)
    assert code == 0
    assert Image.open(out / "result.webp").format == "WEBP"
    assert json.loads((out / "metadata.json").read_text())["output"]["format"] == "webp"


def test_alpha_comes_back_untouched_on_a_same_size_result(workdir: Path, settings: Settings) -> None:
    rgba = astronaut(32).convert("RGBA")
    alpha = np.zeros((32, 32), np.uint8)
    alpha[8:24, 4:28] = 255
    rgba.putalpha(Image.fromarray(alpha))
    source = put(workdir, "cutout.png", encoded(rgba))
    code, out = run(workdir, settings, "denoise", "--input", source, "--options", '{"method": "wavelet"}')
    assert code == 0
    result = Image.open(out / "result.png")
    assert result.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(result)[..., 3], alpha)


def test_a_successful_retry_removes_the_previous_error(workdir: Path, settings: Settings) -> None:
    source = put(workdir, "photo.png", encoded(astronaut(16)))
    (workdir / "out").mkdir()
    (workdir / "out" / "error.json").write_text('{"type": "JobFailed", "message": "first attempt"}')
    code, out = run(workdir, settings, "denoise", "--input", source, "--options", '{"method": "wavelet"}')
    assert code == 0 and not (out / "error.json").exists()


@pytest.mark.parametrize(
    ("args", "error_type", "words"),
    [
        (["denoise", "--options", '{"strength": 3}'], "BadRequest", "unknown option 'strength' for denoise"),
        (["denoise", "--options", "{not json"], "BadRequest", "not valid JSON"),
        (["denoise", "--options", "[1, 2]"], "BadRequest", "must be a JSON object"),
        (["denoise", "--options", '{"method": "magic"}'], "BadRequest", "'method' must be one of auto, drunet"),
        (["denoise", "--options", '{"sigma": "loud"}'], "BadRequest", "'sigma' must be a number from 0 to 255"),
        (["denoise", "--options", '{"sigma": 300}'], "BadRequest", "'sigma' must be a number from 0 to 255"),
        (["denoise", "--options", '{"format": "gif"}'], "BadRequest", "'format' must be one of png, jpeg"),
        (["denoise", "--options", '{"quality": "best"}'], "BadRequest", "'quality' must be a whole number from 1"),
        (["upscale", "--options", '{"outscale": 100}'], "BadRequest", "'outscale' must be a number greater than 0"),
        (["inpaint"], "BadRequest", "needs a mask"),
    ],
)
def test_bad_requests_write_a_plain_error(
    workdir: Path, settings: Settings, args: list[str], error_type: str, words: str
) -> None:
    source = put(workdir, "photo.png", encoded(astronaut(16)))
    code, out = run(workdir, settings, *args, "--input", source)
    assert code == cli.EXIT_FAILED
    error = error_of(out)
    assert error["type"] == error_type and words in error["message"]
    assert not (out / "result.png").exists()


def test_a_mask_for_a_job_that_takes_none_is_refused(workdir: Path, settings: Settings) -> None:
    source = put(workdir, "photo.png", encoded(astronaut(16)))
    code, out = run(workdir, settings, "denoise", "--input", source, "--mask", source)
    assert code == cli.EXIT_FAILED and "takes no mask" in error_of(out)["message"]


def test_missing_input_is_not_found(workdir: Path, settings: Settings) -> None:
    code, out = run(workdir, settings, "denoise", "--input", (workdir / "in" / "nope.png").as_uri())
    assert code == cli.EXIT_FAILED
    assert error_of(out)["type"] == "NotFound" and "nope.png" in error_of(out)["message"]


def test_not_an_image_fails_with_bad_image(workdir: Path, settings: Settings) -> None:
    source = put(workdir, "notes.png", b"just some words")
    code, out = run(workdir, settings, "denoise", "--input", source)
    assert code == cli.EXIT_FAILED and error_of(out)["type"] == "BadImage"


def test_the_pixel_limit_comes_from_settings_per_operation(workdir: Path, settings: Settings) -> None:
    source = put(workdir, "photo.png", encoded(astronaut(64)))
    tight = settings.model_copy(update={"max_pixels_denoise": 4000})
    code, out = run(workdir, tight, "denoise", "--input", source)
    assert code == cli.EXIT_FAILED
    assert error_of(out)["type"] == "ImageTooLarge" and "4,000" in error_of(out)["message"]


def test_an_unknown_job_is_a_usage_error_still_reported_in_error_json(workdir: Path, settings: Settings) -> None:
    code, out = run(workdir, settings, "sharpen", "--input", "file:///x.png")
    assert code == cli.EXIT_USAGE
    assert error_of(out)["type"] == "BadRequest" and "sharpen" in error_of(out)["message"]


def test_output_must_be_a_prefix(workdir: Path, settings: Settings) -> None:
    source = put(workdir, "photo.png", encoded(astronaut(16)))
    code = cli.main(["denoise", "--input", source, "--output", (workdir / "out").as_uri()], settings=settings)
    assert code == cli.EXIT_USAGE


def test_an_unexpected_crash_is_reported_without_a_traceback(
    workdir: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobs.denoise

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Traceback (most recent call last): deep internals")

    monkeypatch.setattr(jobs.denoise, "run", explode)
    source = put(workdir, "photo.png", encoded(astronaut(16)))
    code, out = run(workdir, settings, "denoise", "--input", source)
    assert code == cli.EXIT_FAILED
    error = error_of(out)
    assert error["type"] == "InternalError" and error["job"] == "denoise"
    assert "Traceback" not in error["message"] and "RuntimeError" in error["message"]


def test_upscale_puts_a_resized_alpha_on_the_bigger_result(workdir: Path, settings: Settings) -> None:
    rgba = astronaut(16).convert("RGBA")
    alpha = np.zeros((16, 16), np.uint8)
    alpha[:, 8:] = 255
    rgba.putalpha(Image.fromarray(alpha))
    source = put(workdir, "cutout.png", encoded(rgba))
    code, out = run(workdir, settings, "upscale", "--input", source)
    assert code == 0, (out / "error.json").read_text() if (out / "error.json").exists() else ""
    result = Image.open(io.BytesIO((out / "result.png").read_bytes()))
    assert result.mode == "RGBA" and result.size[0] > 16
    result_alpha = np.asarray(result)[..., 3]
    assert result_alpha[:, : result.size[0] // 2 - 4].max() < 16  # left half stays transparent
    assert result_alpha[:, result.size[0] // 2 + 4 :].min() > 240  # right half stays opaque


def test_detect_text_result_is_the_mask_unioned_with_the_user_mask(workdir: Path, settings: Settings) -> None:
    blank = Image.new("RGB", (64, 48), (90, 120, 150))  # no text: the mask is the user's alone
    user_mask = np.zeros((24, 32), np.uint8)  # half size, same shape: scaled up
    user_mask[4:8, 10:20] = 255
    source = put(workdir, "blank.png", encoded(blank))
    mask = put(workdir, "mask.png", encoded(Image.fromarray(user_mask)))
    code, out = run(workdir, settings, "detect-text", "--input", source, "--mask", mask)
    assert code == 0
    result = np.asarray(Image.open(out / "result.png")) > 0
    assert result.shape == (48, 64) and result[8:16, 20:40].all() and result.sum() == 8 * 20
    # The same mask; the result file also carries its provenance.
    assert (out / "mask.png").read_bytes() == provenance.strip((out / "result.png").read_bytes())
    text = json.loads((out / "text.json").read_text())
    assert text["lines"] == [] and text["user_mask"] is True


TIMING_PARTS = ("startup", "imports", "decode", "load_model", "model", "encode")


def test_timings_separate_startup_imports_model_load_model_and_encode(workdir: Path, settings: Settings) -> None:
    """The runner's spawn time (Settings.job_spawned_at) makes start-up a figure of its own; the parts
    never overlap, so they sum to at most the total, which runs from the spawn."""
    source = put(workdir, "photo.png", encoded(astronaut(24)))
    spawned = settings.model_copy(update={"job_spawned_at": time.time() - 1.5})  # "started 1.5 s ago"
    code, out = run(workdir, spawned, "denoise", "--input", source, "--options", '{"method": "tv"}')
    assert code == 0
    timings = json.loads((out / "metadata.json").read_text())["timings_s"]

    assert all(isinstance(timings[part], float) and timings[part] >= 0 for part in TIMING_PARTS), timings
    assert 1.5 <= timings["startup"] < 1.5 + 5.0  # from the spawn to the job's entry, not the model's work
    assert timings["total_from"] == "spawn"
    assert sum(timings[part] for part in TIMING_PARTS) <= timings["total"]
    assert timings["model"] > 0
    # The operation's own run holds its model load and model work and nothing of the CLI's stages.
    assert timings["load_model"] + timings["model"] <= timings["detail"]["operation"] + 1e-3
    assert timings["detail"]["operation"] + timings["startup"] <= timings["total"]


def test_without_a_spawn_time_startup_is_unknown_and_the_total_says_where_it_starts(
    workdir: Path, settings: Settings
) -> None:
    source = put(workdir, "photo.png", encoded(astronaut(16)))
    code, out = run(workdir, settings, "denoise", "--input", source, "--options", '{"method": "tv"}')
    assert code == 0
    metadata = json.loads((out / "metadata.json").read_text())
    timings = metadata["timings_s"]
    assert timings["startup"] is None and timings["total_from"] == "job start (spawn time unknown)"
    assert sum(timings[part] for part in TIMING_PARTS if part != "startup") <= timings["total"]
    assert metadata["worker"] is None  # a cold job: no warm worker's start-up to report


def test_a_spawn_time_after_the_job_began_is_not_used(settings: Settings) -> None:
    clock = timing.JobClock.starting(origin=200.0, entered=100.0)  # clocks disagree: no start-up figure at all
    assert clock.origin is None
    assert timing.JobClock.starting(origin=90.0, entered=100.0).origin == 90.0


def test_the_process_start_time_is_read_from_proc() -> None:
    """A fresh process reads its own start from /proc: after we spawned it, before it answered."""
    before = time.time()
    done = subprocess.run(
        [sys.executable, "-c", "from jobs.timing import process_start_time; print(repr(process_start_time()))"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    after = time.time()
    started = float(done.stdout.strip())
    tick = 1 / os.sysconf("SC_CLK_TCK")  # /proc counts in clock ticks
    assert before - 2 * tick <= started <= after
    # The import of jobs.timing happened after the start: the reading is the start, not the call.
    assert started < after - 0.01
