"""A user in a real browser: signed in automatically, uploads a real photo, runs each operation, watches
progress reach 100%, compares before and after, downloads the result; then history and ops pages."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

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


def wait_image_loaded(page: Any, test_id: str, timeout_ms: float = 30_000) -> None:
    """Wait until the <img> has really loaded (decoded, with a size): "Done" comes before the image does."""
    page.wait_for_function(
        '(id) => { const img = document.querySelector(`[data-testid="${id}"]`);'
        " return !!img && img.complete && img.naturalWidth > 0 }",
        arg=test_id,
        timeout=timeout_ms,
    )


def paint_a_stroke(page: Any) -> None:
    """Paint once the brush has fitted its canvas to the image, and wait until the stroke is on it."""
    canvas = page.locator('[data-testid="mask-canvas"][data-ready="true"]')
    canvas.wait_for(timeout=30_000)
    canvas.scroll_into_view_if_needed()  # mouse events only reach what is inside the viewport
    box = canvas.bounding_box()
    y = box["y"] + box["height"] * 0.3
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.8, y + 10, steps=5)
    page.mouse.up()
    page.get_by_role("button", name="Clear mask").and_(page.locator(":enabled")).wait_for()  # the stroke took


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
    wait_image_loaded(page, "before")
    wait_image_loaded(page, "after")
    page.get_by_test_id("split").fill("25")
    expect(page.get_by_test_id("after")).to_have_attribute("style", re.compile(r"inset\(0px 0px 0px 25%\)"))
    page.get_by_test_id("zoom").fill("3")
    expect(page.locator(".compare .layers")).to_have_attribute("style", re.compile(r"scale\(3\)"))
    page.screenshot(path=artifacts / f"{operation}-3-compare.png")
    # The badge says what really ran: the model, or the classical algorithm that stood in for it.
    badge = page.get_by_test_id("what-ran")
    if operation == "upscale":
        expect(badge).not_to_contain_text("fallback")
    else:
        weights = {"denoise": "DRUNet", "inpaint": "LaMa"}[operation]
        expect(badge).to_contain_text("Classical fallback: ")
        expect(badge).to_contain_text(f"(no {weights} weights installed; see README)")

    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    assert saved.name.startswith(f"{operation}-") and saved.suffix == ".png"
    with Image.open(io.BytesIO(saved.read_bytes())) as result:
        assert result.size == expected_size


def pin_options(page: Any, **pinned: Any) -> None:
    """Add options the form does not offer (the tile size) to the submit, as a script calling the API would."""

    def add(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        body = json.loads(route.request.post_data or "{}")
        body["options"] = {**body.get("options", {}), **pinned}
        route.continue_(post_data=json.dumps(body))

    page.route("**/image-ai-analysis", add)


def watch_progress(page: Any, reload_in_state: str | None = None) -> list[dict[str, str]]:
    """Click run; sample what the progress panel shows (state, percent, time left) until the execution ends.
    With ``reload_in_state``, reload the page once the panel shows that state: following must resume."""
    page.get_by_test_id("run").click()
    page.get_by_test_id("percent").wait_for(timeout=30_000)
    samples: list[dict[str, str]] = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        if reload_in_state and samples and samples[-1]["state"] == reload_in_state:
            address = page.url
            assert re.search(r"/run/[0-9A-Z]{26}$", address), address
            page.reload()
            signed_in(page)
            page.get_by_test_id("percent").wait_for(timeout=30_000)
            assert page.url == address
            reload_in_state = None
        sample = page.evaluate(
            """() => Object.fromEntries(['status', 'state', 'stage', 'percent', 'elapsed', 'remaining'].map(
                 (id) => [id, document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '']))"""
        )
        if not samples or samples[-1] != sample:
            samples.append(sample)
        if sample["status"] != "Working":
            return samples
        page.wait_for_timeout(100)
    pytest.fail(f"no end after {RUN_TIMEOUT_S} s; seen: {samples}")


@pytest.mark.parametrize(
    ("operation", "method", "job_state", "size", "pinned"),
    [
        ("upscale", "realesr-animevideov3", "Upscale", 256, {"tile": 32}),  # 64 tiles
        ("denoise", "bm3d", "Denoise", 288, {}),  # BM3D's 256 px tiles: 4 of them, seconds each
    ],
)
def test_progress_moves_while_the_job_runs(
    page: Any,
    tmp_path: Path,
    artifacts: Path,
    operation: str,
    method: str,
    job_state: str,
    size: int,
    pinned: dict[str, Any],
) -> None:
    """Issue 12 item 1: over the real local states service and the real job, the panel reaches the job
    state and its percentage rises at least twice before 100%, with the time so far and an estimate left."""
    image = tmp_path / f"tiles-{size}.png"
    photo(size).save(image)
    signed_in(page)
    page.get_by_test_id(f"operation-{operation}").check()
    page.locator("select[name=model]" if operation == "upscale" else "select[name=method]").select_option(method)
    if pinned:  # several tiles whatever the automatic tile size becomes
        pin_options(page, **pinned)
    page.get_by_test_id("file-input").set_input_files(str(image))
    page.get_by_test_id("preview").wait_for()
    # The upscale is reloaded mid-run: its address brings the run back and following goes on.
    samples = watch_progress(page, reload_in_state=job_state if operation == "upscale" else None)
    page.screenshot(path=artifacts / f"progress-{operation}-done.png")

    assert samples[-1]["status"] == "Done", page.get_by_test_id("execution-error").all_text_contents()
    assert samples[-1]["percent"] == "100%"
    running = [s for s in samples if s["status"] == "Working"]
    assert job_state in {s["state"] for s in running}, running
    percents = [int(s["percent"].removesuffix("%")) for s in running]
    assert percents == sorted(percents) and all(p < 100 for p in percents), running
    assert len(set(percents)) >= 3, running  # rose at least twice before 100%
    assert all(s["elapsed"].endswith("so far") for s in running if s["percent"] != "0%"), running
    assert any(s["remaining"].endswith("left") for s in running), running  # from the tile rate


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
    expect(rows.first).to_have_attribute("data-status", "SUCCEEDED")
    page.screenshot(path=artifacts / "history.png")
    rows.first.get_by_role("button", name="Open").click()
    page.get_by_test_id("status").filter(has_text="Done").wait_for(timeout=30_000)
    wait_image_loaded(page, "after")

    page.get_by_test_id("tab-ops").click()
    page.get_by_test_id("ops-executions").locator("tbody tr").first.click()
    events = page.get_by_test_id("ops-events").locator("tbody tr")
    events.last.wait_for()
    for expected in ("ExecutionStarted", "ValidateInput", "Denoise", "RecordResult", "ExecutionSucceeded"):
        expect(page.get_by_test_id("ops-events")).to_contain_text(expected)
    page.screenshot(path=artifacts / "ops.png")

    page.get_by_test_id("tab-analytics").click()
    page.get_by_test_id("query").select_option("failure_rate_per_operation")
    page.get_by_test_id("run-query").click()
    answer = page.get_by_test_id("answer")
    answer.wait_for(timeout=30_000)
    expect(answer).to_contain_text("denoise")
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
    refused = "is not an image (accepted: PNG, JPEG, WebP, TIFF, BMP)"  # the server's words after the name
    expect(page.get_by_test_id("error")).to_have_text(f"notes.txt {refused}")
    # Known by its bytes, not its name: a text file called .png is refused before any upload.
    disguised = tmp_path / "holiday.png"
    disguised.write_text("hello, I am text")
    page.get_by_test_id("file-input").set_input_files(str(disguised))
    expect(page.get_by_test_id("error")).to_have_text(f"holiday.png {refused}")
    expect(page.get_by_test_id("preview")).to_have_count(0)


OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter((e) => {
    const r = e.getBoundingClientRect()
    return r.width > 0 && (r.left < -1 || r.right > innerWidth + 1)
  })
  .map((e) => `${e.tagName.toLowerCase()}.${e.className}[${e.getAttribute('data-testid') ?? ''}]`)"""


def assert_fits(page: Any, where: str) -> None:
    """No element reaches past the viewport's edges, and the page does not scroll sideways."""
    page.wait_for_load_state("networkidle")
    assert page.evaluate(OVERFLOWING) == [], where
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), where


def test_main_flow_on_a_phone(browser: Any, stack: Any, photo_file: Path, artifacts: Path, tmp_path: Path) -> None:
    """Issue 12 item 3 at 390×844: upload, run, compare, download, History "Open"; nothing wider than the screen."""
    context = browser.new_context(
        accept_downloads=True, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        page.goto(stack.url)
        signed_in(page)
        assert_fits(page, "analyse, empty")
        page.screenshot(path=artifacts / "phone-analyse.png", full_page=True)
        page.get_by_test_id("operation-denoise").check()
        page.locator("select[name=method]").select_option("tv")
        page.get_by_test_id("file-input").set_input_files(str(photo_file))
        page.get_by_test_id("preview").wait_for()
        run_and_watch(page)
        expect(page.get_by_test_id("status")).to_have_text("Done")
        page.get_by_test_id("compare").wait_for()
        wait_image_loaded(page, "after")
        assert_fits(page, "analyse, compare")
        page.screenshot(path=artifacts / "phone-compare.png", full_page=True)
        with page.expect_download() as download_info:
            page.get_by_test_id("download").tap()
        saved = tmp_path / download_info.value.suggested_filename
        download_info.value.save_as(saved)
        with Image.open(saved) as result:
            assert result.size == (96, 96)

        page.get_by_test_id("tab-history").tap()
        rows = page.get_by_test_id("history").locator("tbody tr")
        expect(rows.first).to_have_attribute("data-status", "SUCCEEDED")
        assert_fits(page, "history")
        page.screenshot(path=artifacts / "phone-history.png", full_page=True)
        rows.first.get_by_role("button", name="Open").tap()
        expect(page.get_by_test_id("status")).to_have_text("Done", timeout=30_000)
        wait_image_loaded(page, "after")

        page.get_by_test_id("tab-ops").tap()
        page.get_by_test_id("ops-executions").locator("tbody tr").first.tap()
        expect(page.get_by_test_id("ops-events")).to_contain_text("ExecutionSucceeded")
        assert_fits(page, "ops")
        page.screenshot(path=artifacts / "phone-ops.png", full_page=True)

        page.get_by_test_id("tab-analytics").tap()
        page.get_by_test_id("query").wait_for()
        assert_fits(page, "analytics")
        page.screenshot(path=artifacts / "phone-analytics.png", full_page=True)
    finally:
        context.close()
    assert not problems, problems


# Mean absolute change (0-255) the fill must make under a drawn mask on a textured photo.
MIN_MEAN_CHANGE_UNDER_MASK = 3.0


def read_stored_image(settings: Any, key: str, mode: str) -> Any:
    """A stored image read back as the pipeline wrote it (the local storage), as an array in ``mode``."""
    import numpy as np

    from aiorch.storage import open_app_storage

    with Image.open(io.BytesIO(open_app_storage(settings).get_bytes(key))) as image:
        return np.asarray(image.convert(mode))


@pytest.mark.parametrize("detect_text", [False, True])
def test_a_drawn_mask_on_a_photo_without_text(
    page: Any, stack: Any, tmp_path: Path, artifacts: Path, detect_text: bool
) -> None:
    """Issue 12 item 2: a photo with no text and a drawn stroke: the pixels under the stroke change (mean
    change above MIN_MEAN_CHANGE_UNDER_MASK), every other pixel is unchanged; with "also detect text" on,
    OCR finds nothing to add, so the mask that was filled is the drawn one only."""
    import numpy as np

    from aiorch.analysis import AnalysisService

    cat = tmp_path / "chelsea.png"
    photo(160, "chelsea").save(cat)
    signed_in(page)
    page.get_by_test_id("operation-inpaint").check()
    page.get_by_test_id("file-input").set_input_files(str(cat))
    page.get_by_test_id("preview").wait_for()
    paint_a_stroke(page)
    page.locator("input[name=use_ocr]").set_checked(detect_text)  # the form's "detect text" switch
    run_and_watch(page)
    expect(page.get_by_test_id("status")).to_have_text("Done")
    page.screenshot(path=artifacts / f"mask-ocr-{'on' if detect_text else 'off'}.png")

    execution_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    record = AnalysisService(stack.settings).index.get("local", execution_id)
    assert record is not None and record.mask_key and record.options.get("use_ocr") is detect_text
    drawn = read_stored_image(stack.settings, record.mask_key, "L") > 127
    filled = read_stored_image(stack.settings, f"results/local/{execution_id}/detect-text/mask.png", "L") > 127
    original = read_stored_image(stack.settings, record.input_key, "RGB").astype(np.int16)
    result_key = next(k for k in record.result_keys if "/inpaint/" in k)
    result = read_stored_image(stack.settings, result_key, "RGB").astype(np.int16)

    assert drawn.shape == original.shape[:2] and 0 < drawn.mean() < 0.5
    assert np.array_equal(filled, drawn)  # OCR, on or off, added nothing on a photo with no text
    change = np.abs(result - original).mean(axis=2)
    assert change[drawn].mean() > MIN_MEAN_CHANGE_UNDER_MASK, change[drawn].mean()
    assert np.array_equal(result[~drawn], original[~drawn])  # the rest is untouched
