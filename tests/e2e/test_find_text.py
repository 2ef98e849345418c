"""Remove text, seen before it goes: with OCR on, Run first finds the text (a detect_text run), paints the
text's own pixels on the mask and lists each line read with its confidence; one click confirms and the fill
runs on exactly that mask (OCR off), a line unticked stays in the photo. A model whose weights the stack
lacks (LaMa) is shown in the form as not installed, with the command that installs it.

Screenshots: test-artifacts/e2e/find-text-review[-dark]-*.png, find-text-done-*.png, not-installed-lama-*.png."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, Api, Stack, axe_violations, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUN_TIMEOUT_MS = 240_000
WORDS = ("HELLO", "WORLD")


def poster(path: Path) -> Path:
    """Two words in large black bold letters on white, as OCR reads them with confidence near 1."""
    from bench.inpaint_fixtures import font

    image = Image.new("RGB", (480, 320), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    typeface = font("DejaVuSans-Bold.ttf", 64)
    draw.text((40, 50), WORDS[0], font=typeface, fill=(0, 0, 0))
    draw.text((120, 200), WORDS[1], font=typeface, fill=(0, 0, 0))
    image.save(path)
    return path


@pytest.fixture
def axe_page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A page like conftest's, whose context lets axe-core be injected (bypass_csp), failing on page errors."""
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.goto(stack.url)
    yield page
    context.close()
    assert not problems, problems


def stored_mask(settings: Any, key: str) -> Any:
    """A stored black-and-white mask as a bool array."""
    import numpy as np

    from aiorch.storage import open_app_storage

    with Image.open(io.BytesIO(open_app_storage(settings).get_bytes(key))) as image:
        return np.asarray(image.convert("L")) > 127


def test_run_shows_the_words_read_then_removes_the_confirmed_ones(axe_page: Any, stack: Stack, tmp_path: Path) -> None:
    import numpy as np

    from aiorch.analysis import AnalysisService

    page = axe_page
    page.get_by_test_id("user").filter(has_text="Signed in as local").wait_for(timeout=30_000)
    page.get_by_test_id("operation-inpaint").check()
    page.get_by_test_id("file-input").set_input_files(str(poster(tmp_path / "poster.png")))
    page.locator('[data-testid="mask-canvas"][data-ready="true"]').wait_for(timeout=30_000)
    expect(page.locator("input[name=use_ocr]")).to_be_checked()
    expect(page.get_by_test_id("skip-text-review")).not_to_be_checked()

    page.get_by_test_id("run").click()
    review = page.get_by_test_id("text-review")
    expect(review).to_be_visible(timeout=RUN_TIMEOUT_MS)
    read = review.get_by_test_id("text-line-text")
    expect(read).to_have_text(list(WORDS))  # each word read, in order
    expect(review).to_contain_text("% sure")
    confirm = page.get_by_test_id("confirm-text")
    expect(confirm).to_have_text("Remove these 2 words")
    expect(confirm).to_be_focused()
    expect(page.get_by_test_id("run")).to_have_text("Confirm the text below")  # says what the Run waits for
    expect(page.get_by_test_id("text-boxes").locator("polygon")).to_have_count(2)  # each box outlined
    screenshot(page, "find-text-review")
    assert axe_violations(page) == [], "the review of the text found"
    page.emulate_media(color_scheme="dark")
    screenshot(page, "find-text-review-dark")
    assert axe_violations(page) == [], "the review of the text found, dark"
    page.emulate_media(color_scheme="light")

    # The second word stays: unticked, it comes off the mask, and the confirmation counts one word.
    page.get_by_test_id("text-line-2").uncheck()
    expect(confirm).to_have_text("Remove this word")
    confirm.click()
    expect(page.get_by_test_id("status")).to_have_text("Done", timeout=RUN_TIMEOUT_MS)
    screenshot(page, "find-text-done")

    views, _ = AnalysisService(stack.settings).list_executions("local", limit=5)
    fill = next(v for v in views if v.operation == "inpaint")
    found = next(v for v in views if v.operation == "detect_text")
    assert page.url.endswith(fill.execution_id)
    record = AnalysisService(stack.settings).index.get("local", fill.execution_id)
    assert record is not None and record.mask_key, record
    assert record.options.get("use_ocr") is False  # the fill takes the confirmed mask; OCR does not add to it

    found_mask = stored_mask(stack.settings, next(r.key for r in found.results if r.key.endswith("/result.png")))
    sent = stored_mask(stack.settings, record.mask_key)
    # The first word's own pixels were sent, exactly as the job found them; none of the second word's.
    top, bottom = found_mask[:160], found_mask[160:]
    assert top.any() and bottom.any()
    assert np.array_equal(sent[:160], top)
    assert not sent[160:].any()
    assert sent.mean() < 0.2  # letters, not the photo


def test_an_uninstalled_model_shows_with_its_install_command(page: Any, api: Api) -> None:
    served = api.client.get("/operations").raise_for_status().json()
    (lama,) = [m for op in served if op["name"] == "inpaint" for m in op.get("models", []) if m["choice"] == "lama"]
    assert lama["installed"] is False, lama  # this stack's weights folder has no LaMa
    page.get_by_test_id("user").filter(has_text="Signed in as local").wait_for(timeout=30_000)
    page.get_by_test_id("operation-inpaint").check()
    method = page.locator("select[name=method]")
    expect(method.locator("option[value=lama]")).to_be_disabled()
    expect(method.locator("option[value=lama]")).to_contain_text("not installed")
    expect(method.locator("option[value=telea]")).to_be_enabled()
    listed = page.get_by_test_id("not-installed")
    expect(listed.locator("summary")).to_have_text("Not installed here: LaMa (needs weights)")
    listed.locator("summary").click()  # opened, it says how to install each
    note = page.get_by_test_id("not-installed-lama")
    expect(note).to_contain_text("not installed")
    expect(note.locator("code")).to_have_text(lama["install"])
    screenshot(page, "not-installed-lama", full_page=False)
