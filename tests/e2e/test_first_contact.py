"""The web app at first contact, at 1280×800 and 390×844: before a photo is picked the operation choice and
the picker are on screen with at most four settings fields; after picking, Run is in view without
scrolling; after Run, the progress (with focus) is in view over the photo, and the result takes its place.
Screenshots of what the screen shows at each step: test-artifacts/e2e/first-contact-*-<size>.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import photo
from tests.e2e.conftest import DESKTOP, PHONE, axe_violations, screenshot
from tests.e2e.test_browser_flow import RUN_TIMEOUT_S, signed_in, wait_image_loaded

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAX_SETTINGS_SHOWN = 4
# The settings fields a user sees (the file box and the operation's radio buttons are not settings).
VISIBLE_SETTINGS = """() => [...document.querySelectorAll(
    'main select, main input[type=number], main input[type=checkbox], main input[type=range]')]
  .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0
    && getComputedStyle(e).visibility !== 'hidden' })
  .map((e) => e.name || e.dataset.testid || e.type)"""


def in_view(page: Any, locator: Any) -> bool:
    """The whole element is inside the viewport as it is scrolled now."""
    box = locator.bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["y"] >= 0
        and box["x"] >= 0
        and box["y"] + box["height"] <= size["height"] + 0.5
        and (box["x"] + box["width"] <= size["width"] + 0.5)
    )


def pin_tile(page: Any, tile: int) -> None:
    """Many small tiles (a run long enough to be seen running), as a script calling the API could ask."""

    def add(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        body = json.loads(route.request.post_data or "{}")
        body["options"] = {**body.get("options", {}), "tile": tile}
        route.continue_(post_data=json.dumps(body))

    page.route("**/image-ai-analysis", add)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_first_contact_one_screen(browser: Any, stack: Any, tmp_path: Path, size: dict[str, int]) -> None:
    phone = size == PHONE
    # bypass_csp: axe-core is injected as an inline script (checked at each step below).
    context = browser.new_context(viewport=size, is_mobile=phone, has_touch=phone, bypass_csp=True)
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.goto(stack.url)
        signed_in(page)
        page.locator('[data-testid="plain-options"] select').first.wait_for()  # the served form has arrived

        # Before a photo: the operation choice and the picker on screen, at most four settings.
        expect(page.get_by_test_id("advanced")).to_be_hidden()
        tabs = page.locator('[data-testid^="operation-"][type="radio"]')
        names = [tabs.nth(i).get_attribute("data-testid") for i in range(tabs.count())]
        assert {"operation-upscale", "operation-denoise", "operation-inpaint"} <= set(names), names
        for name in names:  # every operation the server offers, however many
            assert in_view(page, page.get_by_test_id(name).locator("xpath=..")), name
        assert in_view(page, page.get_by_test_id("drop-zone").get_by_text("Choose a photo")), (
            "the picker is below the fold"
        )
        drop_zone = page.get_by_test_id("drop-zone").bounding_box()
        assert drop_zone["y"] + drop_zone["height"] / 2 < size["height"], drop_zone  # most of it on screen
        shown = page.evaluate(VISIBLE_SETTINGS)
        assert len(shown) <= MAX_SETTINGS_SHOWN, shown
        assert "quality" not in shown  # PNG is chosen: no JPEG quality
        screenshot(page, "first-contact-1-first-screen", full_page=False)
        assert axe_violations(page) == [], "first-contact-1-first-screen"

        # After picking: the photo on the stage, Run in view without scrolling.
        image = tmp_path / "tiles-256.png"
        photo(256).save(image)
        page.locator("select[name=model]").select_option("realesr-animevideov3")
        pin_tile(page, 32)  # 64 tiles: seconds of progress to see
        page.get_by_test_id("file-input").set_input_files(str(image))
        wait_image_loaded(page, "preview")
        assert page.evaluate("window.scrollY") == 0
        run = page.get_by_test_id("run")
        expect(run).to_be_enabled()
        assert in_view(page, run), run.bounding_box()
        assert in_view(page, page.get_by_test_id("preview").locator("xpath=..").get_by_text("Choose another"))
        screenshot(page, "first-contact-2-picked", full_page=False)
        assert axe_violations(page) == [], "first-contact-2-picked"

        # After Run: the progress over the photo, in view, with focus; Cancel in reach.
        run.click()
        progress = page.locator('[data-testid="run-stage"] [data-testid="progress"]')
        progress.wait_for(timeout=30_000)
        expect(page.get_by_test_id("state")).to_have_attribute("data-state", "Upscale", timeout=RUN_TIMEOUT_S * 1000)
        page.wait_for_function(
            "() => parseInt(document.querySelector('[data-testid=\"percent\"]').textContent) > 0", timeout=60_000
        )
        assert page.evaluate("document.activeElement?.dataset.testid") == "progress"
        assert in_view(page, progress.locator("progress")), progress.bounding_box()
        assert in_view(page, page.get_by_test_id("run")) and page.get_by_test_id("run").text_content() == "Cancel"
        stage_words = page.get_by_test_id("state").text_content() + " " + page.get_by_test_id("stage").text_content()
        assert "Enlarging" in stage_words, stage_words
        screenshot(page, "first-contact-3-running", full_page=False)
        assert axe_violations(page) == [], "first-contact-3-running"

        # The result replaces the photo in place.
        expect(page.get_by_test_id("status")).to_have_text("Done", timeout=RUN_TIMEOUT_S * 1000)
        wait_image_loaded(page, "after")
        compare = page.get_by_test_id("viewport")
        # Where the photo was: the whole result on screen without scrolling (not below the fold), and
        # drawn as large as the photo was (a layout that collapses it is caught here).
        box = compare.bounding_box()
        assert in_view(page, compare), box
        assert box["width"] >= 300 and box["height"] >= 300, box  # the 256 px photo, shown large on both
        assert in_view(page, page.get_by_test_id("download"))
        screenshot(page, "first-contact-4-result", full_page=False)
        assert axe_violations(page) == [], "first-contact-4-result"
    finally:
        context.close()
    assert not problems, problems


def test_advanced_is_remembered_and_field_errors_sit_by_their_field(page: Any) -> None:
    """ "Advanced" opens on a click and stays open after a reload; an out-of-range expert setting is refused
    beside its field; JPEG quality shows only once JPEG output is chosen."""
    signed_in(page)
    page.get_by_test_id("operation-denoise").check()
    expect(page.locator("input[name=quality]")).to_have_count(0)
    page.locator("select[name=format]").select_option("jpeg")
    expect(page.locator("input[name=quality]")).to_be_visible()
    expect(page.locator("input[name=tile]")).to_be_hidden()
    page.get_by_test_id("advanced-toggle").click()
    tile = page.locator("input[name=tile]")
    expect(tile).to_be_visible()
    tile.fill("-1")
    error = page.get_by_test_id("option-error-tile")
    expect(error).to_be_visible()
    field_box, error_box = tile.bounding_box(), error.bounding_box()
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 80, (field_box, error_box)
    page.reload()
    signed_in(page)
    expect(page.get_by_test_id("advanced-toggle")).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_test_id("advanced")).to_be_visible()
