"""A user in a real browser: signed in automatically, uploads a real photo, runs each operation, watches
progress reach 100%, compares before and after, downloads the result; then history and ops pages."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import photo

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUN_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    photo(96).save(path)
    return path


def signed_in(page: Any) -> None:
    page.get_by_test_id("user").filter(has_text="Signed in as local").wait_for(timeout=30_000)


def run_and_watch(page: Any) -> list[str]:
    """Click run; return every distinct percent shown until the execution ends."""
    page.get_by_test_id("run").click()
    page.get_by_test_id("percent").wait_for(timeout=30_000)
    seen: list[str] = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        percent = page.get_by_test_id("percent").text_content()
        if not seen or seen[-1] != percent:
            seen.append(percent)
        status = page.get_by_test_id("status").text_content()
        if status != "Working":
            return seen
        page.wait_for_timeout(100)
    pytest.fail(f"no end after {RUN_TIMEOUT_S} s; percents seen: {seen}")


def image_loaded(page: Any, test_id: str) -> bool:
    return bool(page.get_by_test_id(test_id).evaluate("img => img.complete && img.naturalWidth > 0"))


def paint_a_stroke(page: Any) -> None:
    canvas = page.get_by_test_id("mask-canvas")
    canvas.wait_for()
    box = canvas.bounding_box()
    y = box["y"] + box["height"] * 0.3
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.8, y + 10, steps=5)
    page.mouse.up()


@pytest.mark.parametrize(
    ("operation", "expected_size"),
    [("upscale", (384, 384)), ("denoise", (96, 96)), ("inpaint", (96, 96))],
)
def test_each_operation_end_to_end(
    page: Any, photo_file: Path, artifacts: Path, tmp_path: Path, operation: str, expected_size: tuple[int, int]
) -> None:
    signed_in(page)
    page.get_by_test_id(f"operation-{operation}").check()
    page.get_by_test_id("file-input").set_input_files(str(photo_file))
    page.get_by_test_id("preview").wait_for()
    if operation == "inpaint":
        paint_a_stroke(page)
    page.screenshot(path=artifacts / f"{operation}-1-ready.png")

    percents = run_and_watch(page)
    page.screenshot(path=artifacts / f"{operation}-2-finished.png")
    status = page.get_by_test_id("status").text_content()
    assert status == "Done", page.get_by_test_id("execution-error").all_text_contents()
    assert percents[-1] == "100%"
    assert all(p.endswith("%") for p in percents)

    # Compare: both images load; the divider and the zoom move.
    page.get_by_test_id("compare").wait_for()
    assert image_loaded(page, "before") and image_loaded(page, "after")
    page.get_by_test_id("split").fill("25")
    assert "inset(0px 0px 0px 25%)" in page.get_by_test_id("after").get_attribute("style")
    page.get_by_test_id("zoom").fill("3")
    assert "scale(3)" in page.locator(".compare .layers").get_attribute("style")
    page.screenshot(path=artifacts / f"{operation}-3-compare.png")

    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    assert saved.name.startswith(f"{operation}-") and saved.suffix == ".png"
    with Image.open(io.BytesIO(saved.read_bytes())) as result:
        assert result.size == expected_size


def test_history_ops_and_analytics_pages(page: Any, photo_file: Path, artifacts: Path) -> None:
    signed_in(page)
    page.get_by_test_id("operation-denoise").check()
    page.locator("select[name=method]").select_option("tv")  # the quickest model job
    page.get_by_test_id("file-input").set_input_files(str(photo_file))
    page.get_by_test_id("preview").wait_for()
    run_and_watch(page)

    page.get_by_test_id("tab-history").click()
    rows = page.get_by_test_id("history").locator("tbody tr")
    rows.first.wait_for()
    assert rows.count() >= 1
    assert rows.first.get_attribute("data-status") == "SUCCEEDED"
    page.screenshot(path=artifacts / "history.png")
    rows.first.get_by_role("button", name="Open").click()
    page.get_by_test_id("status").filter(has_text="Done").wait_for(timeout=30_000)
    assert image_loaded(page, "after")

    page.get_by_test_id("tab-ops").click()
    page.get_by_test_id("ops-executions").locator("tbody tr").first.click()
    events = page.get_by_test_id("ops-events").locator("tbody tr")
    events.last.wait_for()
    text = page.get_by_test_id("ops-events").inner_text()
    for expected in ("ExecutionStarted", "ValidateInput", "Denoise", "RecordResult", "ExecutionSucceeded"):
        assert expected in text
    page.screenshot(path=artifacts / "ops.png")

    page.get_by_test_id("tab-analytics").click()
    page.get_by_test_id("query").select_option("failure_rate_per_operation")
    page.get_by_test_id("run-query").click()
    answer = page.get_by_test_id("answer")
    answer.wait_for(timeout=30_000)
    assert "denoise" in answer.inner_text()
    page.screenshot(path=artifacts / "analytics.png")


def test_an_exif_rotated_photo_is_uploaded_upright(page: Any, tmp_path: Path) -> None:
    # Stored 96 wide and 64 high, with a tag saying "turn 90° clockwise to show": the upload must be 64×96.
    sideways = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    photo(96).crop((0, 16, 96, 80)).save(sideways, "JPEG", quality=95, exif=exif)
    signed_in(page)
    page.get_by_test_id("operation-denoise").check()
    page.locator("select[name=method]").select_option("tv")
    page.get_by_test_id("file-input").set_input_files(str(sideways))
    page.get_by_text("Turned upright from its EXIF orientation.").wait_for()
    run_and_watch(page)
    assert page.get_by_test_id("status").text_content() == "Done"

    import urllib.request

    with urllib.request.urlopen(page.get_by_test_id("before").get_attribute("src")) as response:
        uploaded = Image.open(io.BytesIO(response.read()))
    assert uploaded.size == (64, 96)
    assert uploaded.getexif().get(0x0112, 1) == 1


def test_errors_are_shown_in_plain_words(page: Any, tmp_path: Path) -> None:
    signed_in(page)
    not_an_image = tmp_path / "notes.txt"
    not_an_image.write_text("hello")
    page.get_by_test_id("file-input").set_input_files(str(not_an_image))
    assert "is not an image we can process" in page.get_by_test_id("error").text_content()
