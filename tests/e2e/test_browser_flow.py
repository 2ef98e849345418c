"""A user in a real browser: signed in automatically, uploads a real photo, runs each operation, watches
progress reach 100%, compares before and after, downloads the result; then history and ops pages."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import photo
from tests.e2e.conftest import DESKTOP, PHONE, Api, screenshot

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
        # The status first: once it has ended, the percent read after it is the final one (read before it,
        # the last percent could be one render older than "Done": 67% under load).
        status = page.get_by_test_id("status").text_content()
        percent = page.get_by_test_id("percent").text_content()
        if not seen or seen[-1] != percent:
            seen.append(percent)
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


def open_advanced(page: Any) -> None:
    """Open "Advanced" (closed by default), where the expert settings are."""
    toggle = page.get_by_test_id("advanced-toggle")
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    expect(page.get_by_test_id("advanced")).to_be_visible()


def wait_picked(page: Any) -> None:
    """The pick is on the stage: its preview, or for inpaint the mask brush drawn over it."""
    page.locator('[data-testid="preview"], [data-testid="mask-canvas"][data-ready="true"]').first.wait_for(
        timeout=30_000
    )


def layers_transform(page: Any) -> tuple[float, float, float]:
    """(pan x, pan y, zoom) of the compare view's layers, read from their style."""
    style = page.locator(".compare .layers").first.get_attribute("style")
    found = re.search(r"translate\((-?[\d.]+)px, (-?[\d.]+)px\) scale\(([\d.]+)\)", style)
    assert found, style
    return float(found[1]), float(found[2]), float(found[3])


@pytest.mark.parametrize(
    ("operation", "expected_size"),
    [("upscale", (384, 384)), ("denoise", (96, 96)), ("inpaint", (96, 96))],
)
def test_each_operation_end_to_end(
    page: Any, photo_file: Path, tmp_path: Path, operation: str, expected_size: tuple[int, int]
) -> None:
    signed_in(page)
    page.get_by_test_id(f"operation-{operation}").check()
    page.get_by_test_id("file-input").set_input_files(str(photo_file))
    wait_picked(page)
    if operation == "inpaint":
        paint_a_stroke(page)
        # An option away from its served default, set in the form, reaches the job (checked below).
        open_advanced(page)
        page.locator("input[name=context_px]").fill("64")
    screenshot(page, f"{operation}-1-ready")

    percents = run_and_watch(page)
    screenshot(page, f"{operation}-2-finished")
    status = page.get_by_test_id("status").text_content()
    assert status == "Done", page.get_by_test_id("execution-error").all_text_contents()
    assert percents[-1] == "100%"
    assert all(p.endswith("%") for p in percents)

    # Compare: both images load; Download is in view at 1280×800 without scrolling.
    page.get_by_test_id("compare").wait_for()
    wait_image_loaded(page, "before")
    wait_image_loaded(page, "after")
    page.evaluate("window.scrollTo(0, 0)")
    download = page.get_by_test_id("download").bounding_box()
    assert download["y"] >= 0 and download["y"] + download["height"] <= DESKTOP["height"], download
    # The divider and the zoom move; the wheel zooms on the point under the cursor and the divider stays thin.
    page.get_by_test_id("split").fill("25")
    expect(page.get_by_test_id("after-clip")).to_have_attribute("style", re.compile(r"inset\(0px 0px 0px 25%\)"))
    viewport = page.get_by_test_id("viewport")
    viewport.scroll_into_view_if_needed()
    box = viewport.bounding_box()
    # Whole pixels: the browser's wheel event reports a whole clientX/clientY.
    at = (round(box["x"] + box["width"] * 0.8), round(box["y"] + box["height"] * 0.3))
    cursor = (at[0] - box["x"], at[1] - box["y"])
    page.mouse.move(*at)
    for _ in range(8):
        page.mouse.wheel(0, -100)
    expect(page.locator(".compare .layers").first).to_have_attribute("style", re.compile(r"scale\(4\.\d+\)"))
    pan_x, pan_y, zoom = layers_transform(page)
    # The point under the cursor stays there: cursor = pan + zoom × point, with point = cursor at 1×.
    assert abs(pan_x - cursor[0] * (1 - zoom)) < 1.5 and abs(pan_y - cursor[1] * (1 - zoom)) < 1.5, (pan_x, pan_y, zoom)
    divider = page.get_by_test_id("divider").bounding_box()
    assert divider["width"] <= 3 and abs(divider["x"] + 1 - (box["x"] + box["width"] * 0.25)) < 2, divider
    screenshot(page, f"{operation}-3-compare")
    # The badge says what really ran: the model, or the classical algorithm that stood in for it.
    badge = page.get_by_test_id("what-ran")
    if operation == "upscale":
        expect(badge).not_to_contain_text("fallback")
    else:
        weights = {"denoise": "DRUNet", "inpaint": "LaMa"}[operation]
        expect(badge).to_contain_text(f"(no {weights} weights installed)")  # the classical stand-in, named
    expect(page.get_by_test_id("what-ran-facts")).to_contain_text(re.compile(r"^Ran on the (CPU|GPU)"))

    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    with Image.open(io.BytesIO(saved.read_bytes())) as result:
        assert result.size == expected_size
    if operation == "inpaint":
        metadata = json.loads(page.get_by_test_id("metadata").text_content())
        assert metadata["inpaint"]["context_px"] == 64, metadata["inpaint"]
    # Named after the original, what was done, by which model (and for an upscale, at which scale).
    assert re.fullmatch(
        rf"astronaut-{operation}-[a-z0-9-]+{'-x4' if operation == 'upscale' else ''}\.png", saved.name
    ), saved.name


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


PROGRESS_SAMPLE = """() => {
     const shown = Object.fromEntries(['status', 'state', 'stage', 'percent', 'elapsed', 'remaining'].map(
       (id) => [id, document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '']))
     // The state's own name (the panel shows it in plain words).
     shown.state = document.querySelector('[data-testid="state"]')?.dataset.state ?? ''
     // Where the panel is: over the image being processed (the stage), or not on it.
     const img = document.querySelector('[data-testid="run-stage"] img')
     const panel = document.querySelector('[data-testid="run-stage"] .progress-panel')
     const [i, p] = [img?.getBoundingClientRect(), panel?.getBoundingClientRect()]
     shown.over = !!(i && p && img.complete && p.top >= i.top && p.bottom <= i.bottom + 1
                     && p.left >= i.left - 1 && p.right <= i.right + 1)
     return shown
   }"""


@contextmanager
def paced_jobs(stack: Any) -> Iterator[Path]:
    """Jobs hold at known progress points while this lasts (tests/fakes/paced_jobs.py); yields the pace root.
    On the way out every hold still waiting is released, so a failed test leaves no job held."""
    import shutil

    root = stack.settings.data_dir / "paced-jobs"
    root.mkdir()
    try:
        yield root
    finally:
        for _ in range(20):  # a job released here may hold once more before it sees pacing is off
            for held in root.rglob("held-*.json"):
                held.with_name(held.name.replace("held-", "go-").removesuffix(".json")).touch()
            shutil.rmtree(root, ignore_errors=True)
            time.sleep(0.1)
            if not root.exists():
                break


def js_round(percent: float) -> int:
    """Math.round, as the page rounds the served percent (not Python's round half to even)."""
    return int(percent + 0.5)


def watch_held_progress(
    page: Any, api: Api, pace: Path, job: str, reload_at: int | None = None
) -> list[dict[str, Any]]:
    """Click run, then at each point the paced job holds at: wait until the API serves exactly the progress
    held (so it cannot move on), then until the page shows that percent, take a sample of the panel and let
    the job go on. With ``reload_at``, the page is reloaded at that hold: its address must bring the run back
    and following must resume. Returns the samples, each with the percent the API served, then the end."""
    page.get_by_test_id("run").click()
    page.get_by_test_id("percent").wait_for(timeout=30_000)
    page.wait_for_url(re.compile(r"/run/[0-9A-Z]{26}$"))
    execution_id = page.url.rsplit("/", 1)[-1]
    folder = pace / "local" / execution_id / job
    samples: list[dict[str, Any]] = []
    for n in range(8):
        held_file = folder / f"held-{n}.json"
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not held_file.exists():  # the next hold, or the end of the job
            if api.client.get(f"/image-ai-analysis/{execution_id}").json()["status"] != "RUNNING":
                break
            assert time.monotonic() < deadline, f"hold {n} never came; seen {samples}"
            time.sleep(0.1)
        if not held_file.exists():
            break
        held = json.loads(held_file.read_text())
        deadline = time.monotonic() + 60
        while True:  # the job cannot move on: the API serves this progress until it is let go
            served = api.client.get(f"/image-ai-analysis/{execution_id}").raise_for_status().json()
            progress = served["progress"]
            if (progress["stage"], progress["done"], progress["total"]) == (held["stage"], held["done"], held["total"]):
                break
            assert time.monotonic() < deadline, f"the API never served the held {held}: {progress}"
            time.sleep(0.1)
        if n == reload_at:
            address = page.url
            page.reload()
            signed_in(page)
            page.get_by_test_id("percent").wait_for(timeout=30_000)
            assert page.url == address
        expected = f"{js_round(progress['percent'])}%"
        expect(page.get_by_test_id("percent")).to_have_text(expected, timeout=30_000)
        expect(page.get_by_test_id("elapsed")).to_have_text(re.compile("so far$"), timeout=30_000)
        samples.append({**page.evaluate(PROGRESS_SAMPLE), "served": expected, "held": held})
        (folder / f"go-{n}").touch()
    expect(page.get_by_test_id("status")).not_to_have_text("Working", timeout=RUN_TIMEOUT_S * 1000)
    samples.append(page.evaluate(PROGRESS_SAMPLE))
    return samples


@pytest.mark.parametrize(
    ("operation", "method", "job_state", "size", "pinned"),
    [
        ("upscale", "realesr-animevideov3", "Upscale", 256, {"tile": 32}),  # 64 tiles
        ("denoise", "bm3d", "Denoise", 288, {}),  # BM3D's 256 px tiles: 4 of them
    ],
)
def test_progress_moves_while_the_job_runs(
    page: Any,
    stack: Any,
    api: Api,
    tmp_path: Path,
    operation: str,
    method: str,
    job_state: str,
    size: int,
    pinned: dict[str, Any],
) -> None:
    """Over the real local states service and the real job, the panel reaches the job
    state and its percentage rises at least twice before 100%, with the time so far and an estimate left.
    The job is held at known points (its model stage's first write and each quarter of it,
    tests/fakes/paced_jobs.py), so every percent below was on the page mid-run, whatever the machine's speed."""
    image = tmp_path / f"tiles-{size}.png"
    photo(size).save(image)
    signed_in(page)
    page.get_by_test_id(f"operation-{operation}").check()
    page.locator("select[name=model]" if operation == "upscale" else "select[name=method]").select_option(method)
    if pinned:  # several tiles whatever the automatic tile size becomes
        pin_options(page, **pinned)
    page.get_by_test_id("file-input").set_input_files(str(image))
    page.get_by_test_id("preview").wait_for()
    with paced_jobs(stack) as pace:
        # The upscale is reloaded mid-run: its address brings the run back and following goes on.
        samples = watch_held_progress(page, api, pace, operation, reload_at=1 if operation == "upscale" else None)
    screenshot(page, f"progress-{operation}-done")

    assert samples[-1]["status"] == "Done", page.get_by_test_id("execution-error").all_text_contents()
    assert samples[-1]["percent"] == "100%"
    running = samples[:-1]
    assert len(running) >= 3, samples  # held at least three times mid-run
    assert all(s["status"] == "Working" and s["state"] == job_state for s in running), running
    assert [s["percent"] for s in running] == [s["served"] for s in running], running  # each held percent shown
    percents = [int(s["percent"].removesuffix("%")) for s in running]
    assert percents == sorted(percents) and all(p < 100 for p in percents), running  # never back
    assert len(set(percents)) >= 3, running  # rose at least twice before 100%
    assert all(s["elapsed"].endswith("so far") for s in running), running
    assert any(s["remaining"].endswith("left") for s in running), running  # from the tile rate
    assert any(s["over"] for s in running), running  # the progress sat over the image being processed


# The pages every screen size is photographed on (test-artifacts/e2e/<page>-<width>x<height>.png): this test
# takes them at 1280×800, test_main_flow_on_a_phone at 390×844.
PAGES = ("analyse", "compare", "history", "ops", "analytics")


def test_chain_history_ops_and_analytics_pages(page: Any, api: Api, photo_file: Path) -> None:
    """A denoise, then its result used as the next input (a second denoise); History shows both as cards
    with names and options; Ops draws the timeline with each state's duration; Analytics draws a chart."""
    signed_in(page)
    screenshot(page, "analyse")
    page.get_by_test_id("operation-denoise").check()
    page.locator("select[name=method]").select_option("tv")  # the quickest model job
    page.get_by_test_id("file-input").set_input_files(str(photo_file))
    page.get_by_test_id("preview").wait_for()
    run_and_watch(page)
    first_run = page.url.rsplit("/", 1)[-1]
    wait_image_loaded(page, "after")
    screenshot(page, "compare")

    # "Use this result as the next input": the result is the new pick, and runs like any other.
    page.get_by_test_id("chain").click()
    expect(page.get_by_test_id("compare")).to_have_count(0)
    wait_image_loaded(page, "preview")
    page.locator("select[name=method]").select_option("tv")
    # Before Run, a hint from the past run of the same method: about how long it takes on this machine.
    expect(page.get_by_test_id("estimate")).to_contain_text("on this machine (a past denoise with tv of 0.01 MP took")
    assert run_and_watch(page)[-1] == "100%"
    expect(page.get_by_test_id("status")).to_have_text("Done")
    second_run = page.url.rsplit("/", 1)[-1]
    assert second_run != first_run

    page.get_by_test_id("tab-history").click()
    cards = page.get_by_test_id("history-item")
    expect(cards.first).to_have_attribute("data-status", "SUCCEEDED")
    expect(cards.first.get_by_test_id("history-options")).to_have_text("Total variation (classical)")
    expect(cards.first.get_by_test_id("history-status")).to_have_text(re.compile(r"^Done in \d"))
    names = cards.get_by_test_id("history-name").all_text_contents()  # checked last, below
    # Both cards show their job's own thumbnail.webp (at most 256 px), loaded: not the original, not the result.
    page.wait_for_function(
        """() => {
             const shown = [...document.querySelectorAll('[data-testid="thumbnail"]')].slice(0, 2)
             return shown.length === 2 && shown.every((img) => img.dataset.kind === 'result' && img.complete
               && img.naturalWidth > 0 && Math.max(img.naturalWidth, img.naturalHeight) <= 256)
           }"""
    )
    screenshot(page, "history")
    # Re-run: the original is picked again with the same operation and options, ready to Run.
    cards.nth(1).get_by_test_id("rerun").click()
    wait_image_loaded(page, "preview")
    expect(page.get_by_test_id("operation-denoise")).to_be_checked()
    expect(page.locator("select[name=method]")).to_have_value("tv")
    expect(page.get_by_test_id("run")).to_be_enabled()
    page.get_by_test_id("tab-history").click()
    cards.nth(1).get_by_role("button", name="Open").click()
    page.get_by_test_id("status").filter(has_text="Done").wait_for(timeout=30_000)
    assert page.url.endswith(f"/run/{first_run}")
    wait_image_loaded(page, "after")

    page.get_by_test_id("tab-ops").click()
    page.get_by_test_id("ops-executions").locator("tbody tr").first.click()
    states = page.get_by_test_id("ops-state")
    expect(page.get_by_test_id("ops-outcome")).to_contain_text("Succeeded in")
    state_names = states.evaluate_all("(items) => items.map((li) => li.dataset.state)")
    in_order = [n for n in state_names if n in ("ValidateInput", "Denoise", "RecordResult")]
    assert state_names[0] == "ValidateInput" and in_order == ["ValidateInput", "Denoise", "RecordResult"], state_names
    for duration in states.get_by_test_id("ops-duration").all_text_contents():
        assert re.fullmatch(r"\d+\.\d+ s|\d+ min \d+ s", duration.strip()), duration
    screenshot(page, "ops")

    page.get_by_test_id("tab-analytics").click()
    page.get_by_test_id("query").select_option("failure_rate_per_operation")  # runs on choosing: no click
    answer = page.get_by_test_id("answer")
    expect(answer).to_contain_text("denoise", timeout=30_000)
    chart = page.get_by_test_id("chart").locator("canvas")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["height"] > 100
    screenshot(page, "analytics")
    # The originals' names, kept by the server with each upload: the chained input is the first result's name.
    assert names[:2] == ["astronaut-denoise-tv.png", "astronaut.png"], names

    # Delete from History (a second click confirms): the card goes, and a reload does not bring it back.
    page.get_by_test_id("tab-history").click()
    first_card = cards.nth(1)  # newest first: the chained run, then the first one
    count = cards.count()
    first_card.get_by_test_id("delete").click()
    expect(first_card.get_by_test_id("delete")).to_have_text("Delete for good?")
    first_card.get_by_test_id("delete").click()
    expect(cards).to_have_count(count - 1)
    gone = api.client.get(f"/image-ai-analysis/{first_run}")
    assert gone.status_code == 404, gone.text
    page.goto(str(api.client.base_url))  # a fresh page (not the deleted run's URL, which is now a 404)
    page.get_by_test_id("tab-history").click()
    expect(cards).to_have_count(count - 1)


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


def png_header(width: int, height: int) -> bytes:
    """A PNG of a signature and an IHDR only: it claims width×height and holds no pixels."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def test_refused_in_the_browser_before_upload_in_the_servers_words(page: Any, api: Api, tmp_path: Path) -> None:
    """A text file named .png, an image over the operation's pixel limit, a
    60000×60000 PNG header and an out-of-range option are refused in the browser, nothing is uploaded, and
    the message names the limit; the same requests sent straight to the API are refused with the same words."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "uploads" in r.url else None)
    signed_in(page)
    page.get_by_test_id("operation-upscale").check()
    # Beside the picker (not in the page's banner), and the refused file's name is gone from the file box.
    error = page.get_by_test_id("pick-error")
    run = page.get_by_test_id("run")

    # A text file named .png: known by its bytes.
    disguised = tmp_path / "holiday.png"
    disguised.write_text("hello, I am text")
    page.get_by_test_id("file-input").set_input_files(str(disguised))
    refused = api.upload(disguised.read_bytes(), "holiday.png")
    assert refused.status_code == 400, refused.text
    server_words = refused.json()["detail"]
    assert server_words == "the file is not an image (accepted: PNG, JPEG, WebP, TIFF, BMP)"
    expect(error).to_have_text(f"holiday.png {server_words.removeprefix('the file ')}")
    expect(page.get_by_test_id("preview")).to_have_count(0)
    assert page.get_by_test_id("file-input").input_value() == ""
    picker, shown = page.get_by_test_id("drop-zone").bounding_box(), error.bounding_box()
    assert picker["y"] <= shown["y"] and shown["y"] + shown["height"] <= picker["y"] + picker["height"], (picker, shown)
    expect(page.get_by_test_id("error")).to_have_count(0)
    screenshot(page, "refused-file", full_page=False)

    # Over upscale's pixel limit (4 MP): measured from the header; the API refuses it at ValidateInput.
    big = tmp_path / "big.png"
    photo(96).resize((2100, 2000), Image.Resampling.BILINEAR).save(big, compress_level=1)
    page.get_by_test_id("file-input").set_input_files(str(big))
    expect(error).to_have_text(re.compile(r"^big\.png: the input image is 2100×2000 = 4\.2 megapixels; "))
    expect(run).to_be_disabled()
    uploaded = api.upload(big.read_bytes(), "big.png")
    assert uploaded.status_code in (200, 201), uploaded.text
    submitted = api.submit("upscale", uploaded.json()["upload"], {})
    assert submitted.status_code == 202, submitted.text
    ended = api.wait_until_ended(submitted.json()["execution_id"])
    assert ended["status"] == "FAILED", ended
    expect(error).to_have_text(f"big.png: {ended['error']['message']}")

    # 60000×60000 claimed by a 33-byte header: refused with the numbers, never decoded.
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_header(60000, 60000))
    page.get_by_test_id("file-input").set_input_files(str(huge))
    size_words = "the input image is 60000×60000 = 3600.0 megapixels"
    expect(error).to_have_text(f"huge.png: {size_words}; the limit for this operation is 4 megapixels")
    expect(page.get_by_test_id("preview")).to_have_count(0)
    # The server refuses it too, at the upload, which knows no operation yet: the same size, and the largest
    # limit of any operation (never "not an image").
    refused_huge = api.upload(huge.read_bytes(), "huge.png")
    assert refused_huge.status_code == 400, refused_huge.text
    assert refused_huge.json()["detail"] == f"{size_words}; no operation accepts more than 40 megapixels"

    # A valid pick clears the old error; then an option out of range is refused beside its field.
    small = tmp_path / "small.png"
    photo(48).save(small)
    page.get_by_test_id("file-input").set_input_files(str(small))
    page.get_by_test_id("preview").wait_for()
    expect(error).to_have_count(0)
    expect(run).to_be_enabled()
    page.locator("input[name=outscale]").fill("100")
    expect(page.locator("input[name=outscale]")).to_have_attribute("max", "16")
    option_error = page.get_by_test_id("option-error-outscale")
    expect(option_error).to_be_visible()
    expect(run).to_be_disabled()
    upload = api.upload(small.read_bytes(), "small.png").json()["upload"]
    refused_option = api.submit("upscale", upload, {"outscale": 100})
    assert refused_option.status_code == 400, refused_option.text
    expect(option_error).to_have_text(refused_option.json()["detail"])
    assert not sent, sent  # the browser sent nothing of all this


def test_an_image_below_the_minimum_size_is_refused_in_the_servers_words(page: Any, api: Api, tmp_path: Path) -> None:
    """The browser applies the minimum side GET /operations serves (16 px) before anything is sent; the
    upload endpoint, sent the same file, refuses it with the same words."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "uploads" in r.url else None)
    signed_in(page)
    page.get_by_test_id("operation-denoise").check()
    tiny = tmp_path / "tiny.png"
    photo(12).save(tiny)
    page.get_by_test_id("file-input").set_input_files(str(tiny))
    words = "the input image is 12×12; each side must be at least 16 pixels"
    expect(page.get_by_test_id("pick-error")).to_have_text(f"tiny.png: {words}")
    expect(page.get_by_test_id("run")).to_be_disabled()
    assert not sent, sent
    refused = api.upload(tiny.read_bytes(), "tiny.png")
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"] == words


def test_mask_brush_undo_redo_eraser_and_size_keys(page: Any, photo_file: Path) -> None:
    """IOPaint's brush keys: Ctrl+Z / Ctrl+Shift+Z undo and redo a stroke, the eraser removes paint, [ ] resize."""
    painted = """() => { const c = document.querySelector('[data-testid="mask-canvas"]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n }"""
    signed_in(page)
    page.get_by_test_id("operation-inpaint").check()
    page.get_by_test_id("file-input").set_input_files(str(photo_file))
    wait_picked(page)
    size = page.get_by_test_id("brush-size")
    before = int(size.text_content())
    page.keyboard.press("]")
    expect(size).not_to_have_text(str(before))
    assert int(size.text_content()) > before
    paint_a_stroke(page)
    stroke = page.evaluate(painted)
    assert stroke > 0
    page.keyboard.press("Control+z")
    expect(page.get_by_role("button", name="Clear mask")).to_be_disabled()
    assert page.evaluate(painted) == 0
    page.keyboard.press("Control+Shift+z")
    expect(page.get_by_role("button", name="Clear mask")).to_be_enabled()
    assert page.evaluate(painted) == stroke
    page.get_by_test_id("tool-eraser").check()
    canvas = page.get_by_test_id("mask-canvas")
    box = canvas.bounding_box()
    y = box["y"] + box["height"] * 0.3
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, y + 5, steps=10)
    page.mouse.up()
    page.wait_for_function(f"({painted})() < {stroke}")
    page.get_by_test_id("undo").click()  # the eraser stroke is undone like any other
    page.wait_for_function(f"({painted})() === {stroke}")


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


@contextmanager
def signed_in_on_a_phone(browser: Any, stack: Any) -> Iterator[Any]:
    """A page at 390×844 with touch, signed in; closed after, and no page error may have happened."""
    context = browser.new_context(accept_downloads=True, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        page.goto(stack.url)
        signed_in(page)
        yield page
    finally:
        context.close()
    assert not problems, problems


def test_main_flow_on_a_phone(browser: Any, stack: Any, photo_file: Path, tmp_path: Path) -> None:
    """At 390×844: upload, run, compare, download, History "Open"; nothing wider than the
    screen; a screenshot of each page (PAGES) at this size."""
    with signed_in_on_a_phone(browser, stack) as page:
        assert_fits(page, "analyse, empty")
        screenshot(page, "analyse")
        page.get_by_test_id("operation-denoise").check()
        page.locator("select[name=method]").select_option("tv")
        page.get_by_test_id("file-input").set_input_files(str(photo_file))
        page.get_by_test_id("preview").wait_for()
        run_and_watch(page)
        expect(page.get_by_test_id("status")).to_have_text("Done")
        page.get_by_test_id("compare").wait_for()
        wait_image_loaded(page, "after")
        assert_fits(page, "analyse, compare")
        screenshot(page, "compare")
        with page.expect_download() as download_info:
            page.get_by_test_id("download").tap()
        saved = tmp_path / download_info.value.suggested_filename
        download_info.value.save_as(saved)
        with Image.open(saved) as result:
            assert result.size == (96, 96)

        page.get_by_test_id("tab-history").tap()
        cards = page.get_by_test_id("history-item")
        expect(cards.first).to_have_attribute("data-status", "SUCCEEDED")
        assert_fits(page, "history")
        screenshot(page, "history")
        cards.first.get_by_role("button", name="Open").tap()
        expect(page.get_by_test_id("status")).to_have_text("Done", timeout=30_000)
        wait_image_loaded(page, "after")

        page.get_by_test_id("tab-ops").tap()
        page.get_by_test_id("ops-executions").locator("tbody tr").first.tap()
        expect(page.get_by_test_id("ops-outcome")).to_contain_text("Succeeded in")
        assert_fits(page, "ops")
        screenshot(page, "ops")

        page.get_by_test_id("tab-analytics").tap()
        expect(page.get_by_test_id("chart").locator("canvas")).to_be_visible(timeout=30_000)
        assert_fits(page, "analytics")
        screenshot(page, "analytics")
    assert saved.name == "astronaut-denoise-tv.png"  # the original, the operation and the method


def test_a_batch_on_a_phone(browser: Any, stack: Any, tmp_path: Path) -> None:
    """The batch view at 390×844: three files picked on a phone run as one request, the three cards
    reach Done, each with its preview and download in reach, and nothing is wider than the screen."""
    files = []
    for name in ("astronaut", "chelsea", "coffee"):
        path = tmp_path / f"{name}.png"
        photo(48, name).save(path)
        files.append(path)
    with signed_in_on_a_phone(browser, stack) as page:
        page.get_by_test_id("operation-denoise").check()
        page.locator("select[name=method]").select_option("tv")
        page.get_by_test_id("file-input").set_input_files([str(f) for f in files])
        expect(page.get_by_test_id("batch-pick")).to_have_count(3)
        assert_fits(page, "batch, picked")
        page.get_by_test_id("run").tap()
        expect(page.locator('[data-testid="batch-image"][data-status="SUCCEEDED"]')).to_have_count(
            3, timeout=RUN_TIMEOUT_S * 1000
        )
        page.wait_for_function(  # each card's preview is its result, loaded
            """() => { const shown = [...document.querySelectorAll('[data-testid="batch-image-preview"]')]
                 return shown.length === 3 && shown.every((img) => img.dataset.kind === 'result' && img.complete
                   && img.naturalWidth > 0) }"""
        )
        # The execution itself ends after its images (RecordResult runs last): Run comes back then.
        expect(page.get_by_test_id("run")).to_have_text("Run denoise on 3 images", timeout=30_000)
        assert_fits(page, "batch, done")
        screenshot(page, "batch-done")
        last = page.get_by_test_id("batch-image").nth(2).get_by_test_id("batch-download")
        last.scroll_into_view_if_needed()
        box = last.bounding_box()
        assert box is not None and box["width"] >= 24 and box["height"] >= 24, box  # big enough for a finger
        with page.expect_download() as download_info:
            last.tap()
        assert download_info.value.suggested_filename == "coffee-denoised.png"


def test_a_finger_drags_the_divider_on_a_phone(browser: Any, stack: Any, api: Api, photo_file: Path) -> None:
    """Touch drag on the divider (real touch events through the DevTools protocol; its own page, as taps
    after a protocol-driven touch sequence are not delivered by playwright)."""
    upload = api.upload(photo_file.read_bytes(), "astronaut.png").json()["upload"]
    execution_id = api.submit("denoise", upload, {"method": "tv"}).json()["execution_id"]
    assert api.wait_until_ended(execution_id)["status"] == "SUCCEEDED"
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{stack.url}/run/{execution_id}")
        wait_image_loaded(page, "after")
        viewport = page.get_by_test_id("viewport")
        viewport.scroll_into_view_if_needed()
        box = viewport.bounding_box()
        y = box["y"] + box["height"] / 2
        touch = context.new_cdp_session(page)
        start = {"x": box["x"] + box["width"] / 2, "y": y}
        touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [start]})
        for step in range(1, 6):
            x = box["x"] + box["width"] * (0.5 - 0.06 * step)
            touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        expect(page.get_by_test_id("divider")).to_have_attribute("style", re.compile(r"left: 2\d(\.\d+)?%"))
        expect(page.get_by_test_id("after-clip")).to_have_attribute("style", re.compile(r"inset\(0px 0px 0px 2\d"))
    finally:
        context.close()


# Mean absolute change (0-255) the fill must make under a drawn mask on a textured photo.
MIN_MEAN_CHANGE_UNDER_MASK = 3.0


def read_stored_image(settings: Any, key: str, mode: str) -> Any:
    """A stored image read back as the pipeline wrote it (the local storage), as an array in ``mode``."""
    import numpy as np

    from aiorch.storage import open_app_storage

    with Image.open(io.BytesIO(open_app_storage(settings).get_bytes(key))) as image:
        return np.asarray(image.convert(mode))


@pytest.mark.parametrize("detect_text", [False, True])
def test_a_drawn_mask_on_a_photo_without_text(page: Any, stack: Any, tmp_path: Path, detect_text: bool) -> None:
    """A photo with no text and a drawn stroke: the pixels under the stroke change (mean
    change above MIN_MEAN_CHANGE_UNDER_MASK), every other pixel is unchanged; with "also detect text" on,
    OCR finds nothing to add, so the mask that was filled is the drawn one only."""
    import numpy as np

    from aiorch.analysis import AnalysisService

    cat = tmp_path / "chelsea.png"
    photo(160, "chelsea").save(cat)
    signed_in(page)
    page.get_by_test_id("operation-inpaint").check()
    page.get_by_test_id("file-input").set_input_files(str(cat))
    wait_picked(page)
    paint_a_stroke(page)
    page.locator("input[name=use_ocr]").set_checked(detect_text)  # the form's "detect text" switch
    run_and_watch(page)
    expect(page.get_by_test_id("status")).to_have_text("Done")
    screenshot(page, f"mask-ocr-{'on' if detect_text else 'off'}")

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


def test_find_text_draws_the_ocr_boxes_on_the_mask_before_run(page: Any, stack: Any, tmp_path: Path) -> None:
    """Masks the user can trust: Find text beside the brush runs only the OCR job (a detect_text
    execution) and draws the boxes it found on the mask before Run, as a step Undo takes back; the OCR switch
    goes off, so Run fills the mask as drawn. detect_text is no operation tab of its own."""
    from aiorch.analysis import AnalysisService
    from aiorch.storage import open_app_storage
    from tests.unit.jobs.job_images import photo_with_text

    poster = tmp_path / "poster.png"
    photo_with_text(256).save(poster)
    signed_in(page)
    page.get_by_test_id("operation-inpaint").check()
    expect(page.get_by_test_id("operation-detect_text")).to_have_count(0)
    page.get_by_test_id("file-input").set_input_files(str(poster))
    page.locator('[data-testid="mask-canvas"][data-ready="true"]').wait_for(timeout=30_000)
    expect(page.locator("input[name=use_ocr]")).to_be_checked()

    page.get_by_test_id("find-text").click()
    found = page.get_by_test_id("text-found")
    expect(found).to_contain_text("of text, drawn on the mask", timeout=RUN_TIMEOUT_S * 1000)
    screenshot(page, "find-text-boxes")

    views, _ = AnalysisService(stack.settings).list_executions("local", limit=5)
    preview = next(v for v in views if v.operation == "detect_text")
    assert preview.status == "SUCCEEDED"
    assert {r.job for r in preview.results} == {"detect-text"}  # only the OCR job ran
    report_key = next(r.key for r in preview.results if r.key.endswith("/result.json"))
    report = json.loads(open_app_storage(stack.settings).get_bytes(report_key))
    assert len(report["lines"]) >= 2, report
    expect(found).to_contain_text(f"Found {len(report['lines'])} boxes of text")
    # Each box is painted on the canvas at its centre; the photo around the text is not.
    alpha_at = """([points]) => { const c = document.querySelector('[data-testid="mask-canvas"]');
        const ctx = c.getContext('2d'); return points.map(([x, y]) => ctx.getImageData(x, y, 1, 1).data[3]) }"""
    centres = [[(x0 + x1) // 2, (y0 + y1) // 2] for x0, y0, x1, y1 in (line["box"] for line in report["lines"])]
    assert all(a > 0 for a in page.evaluate(alpha_at, [centres]))
    assert page.evaluate(alpha_at, [[[128, 128]]]) == [0]  # the middle of the photo, between the lines
    expect(page.locator("input[name=use_ocr]")).not_to_be_checked()  # Run fills the mask as drawn
    page.get_by_test_id("undo").click()  # the boxes are one undoable step
    expect(page.get_by_role("button", name="Clear mask")).to_be_disabled()
    assert all(a == 0 for a in page.evaluate(alpha_at, [centres]))


def test_three_files_run_as_one_batch_with_a_card_each(page: Any, tmp_path: Path) -> None:
    """Three files chosen at once are uploaded, then submitted as ONE request with their three
    uploads; the batch view follows that one execution and shows three cards reaching Done, each with its
    own result to download, named after its original."""
    files = []
    for name in ("astronaut", "chelsea", "coffee"):
        path = tmp_path / f"{name}.png"
        photo(48, name).save(path)
        files.append(path)
    submits: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            submits.append(json.loads(r.post_data or "{}"))
            if r.method == "POST" and r.url.endswith("/image-ai-analysis")
            else None
        ),
    )
    signed_in(page)
    page.get_by_test_id("operation-denoise").check()
    page.locator("select[name=method]").select_option("tv")
    page.get_by_test_id("file-input").set_input_files([str(f) for f in files])
    expect(page.get_by_test_id("batch-pick")).to_have_count(3)
    expect(page.get_by_test_id("run")).to_have_text("Run denoise on 3 images")
    # Every status each card shows, in order, as the page draws it (with the percent while it runs).
    page.evaluate(
        """() => { window.seen = {}; const note = () => document.querySelectorAll('[data-testid="batch-image"]')
             .forEach((card, i) => { const shown = card.dataset.status
               + (card.querySelector('[data-testid="batch-image-percent"]')?.textContent ?? '')
               const seen = (window.seen[i] ??= []); if (seen.at(-1) !== shown) seen.push(shown) })
           new MutationObserver(note).observe(document.body, { subtree: true, childList: true,
             attributes: true, characterData: true }) }"""
    )
    page.get_by_test_id("run").click()

    cards = page.get_by_test_id("batch-image")
    expect(cards).to_have_count(3, timeout=30_000)
    expect(page.locator('[data-testid="batch-image"][data-status="SUCCEEDED"]')).to_have_count(
        3, timeout=RUN_TIMEOUT_S * 1000
    )
    expect(page.get_by_test_id("batch-summary")).to_have_text("3 images: 3 done")
    page.wait_for_function(  # each card's preview is its result, loaded
        """() => { const shown = [...document.querySelectorAll('[data-testid="batch-image-preview"]')]
             return shown.length === 3 && shown.every((img) => img.dataset.kind === 'result' && img.complete
               && img.naturalWidth > 0) }"""
    )
    screenshot(page, "batch-done")

    assert len(submits) == 1, submits  # one request for the three images
    assert len(submits[0]["uploads"]) == 3 and "upload" not in submits[0], submits[0]
    assert submits[0]["operation"] == "denoise" and submits[0]["options"]["method"] == "tv", submits[0]
    assert cards.get_by_test_id("batch-image-name").all_text_contents() == [f.name for f in files]
    # Followed, not only seen at the end: each card went forward (waiting, working with its percent, done),
    # and the first answer came while the images were still to do.
    seen = page.evaluate("window.seen")
    order = {"PENDING": 0, "RUNNING": 1, "SUCCEEDED": 2}
    for statuses in seen.values():
        steps = [order[re.sub(r"[\d.]+%$", "", s)] for s in statuses]
        assert steps == sorted(steps) and steps[-1] == 2, seen
        assert all(re.fullmatch(r"RUNNING\d+%", s) for s in statuses if s.startswith("RUNNING")), seen
    assert any(statuses[0] != "SUCCEEDED" for statuses in seen.values()), seen
    for index, original in enumerate(files):
        with page.expect_download() as download_info:
            cards.nth(index).get_by_test_id("batch-download").click()
        saved = tmp_path / "out" / download_info.value.suggested_filename
        download_info.value.save_as(saved)
        assert saved.name == f"{original.stem}-denoised.png"
        with Image.open(saved) as result, Image.open(original) as source:
            assert result.size == source.size
