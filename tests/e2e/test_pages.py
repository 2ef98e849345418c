"""Every page at its own address, at 1280×800 and 390×844, light and dark: Back, Forward and a reload keep the
user where they were, focus and scroll start each new page at its top, each page has one main landmark, and
axe-core (frontend/node_modules/axe-core, installed by npm ci) finds no accessibility violation on any of
them. Screenshots: test-artifacts/e2e/page-<page>[-dark]-<width>x<height>.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import photo
from tests.e2e.conftest import DESKTOP, PHONE, Stack, axe_violations, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUN_TIMEOUT_MS = 240_000


def check_page(page: Any, name: str, scheme: str) -> None:
    """One main landmark, no axe violation, and a screenshot."""
    expect(page.locator("main")).to_have_count(1)
    suffix = "-dark" if scheme == "dark" else ""
    screenshot(page, f"page-{name}{suffix}")
    assert axe_violations(page) == [], name


@pytest.fixture(
    params=[(DESKTOP, "light"), (PHONE, "light"), (DESKTOP, "dark"), (PHONE, "dark")],
    ids=lambda p: f"{p[0]['width']}-{p[1]}",
)
def screen(request: pytest.FixtureRequest, browser: Any, stack: Stack) -> Iterator[tuple[Any, str]]:
    size, scheme = request.param
    # bypass_csp: axe is injected as an inline script, which the app's Content-Security-Policy refuses.
    context = browser.new_context(accept_downloads=True, viewport=size, color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.goto(stack.url)
    yield page, scheme
    context.close()
    assert not problems, problems


def focused_id(page: Any) -> str:
    return page.evaluate("document.activeElement?.id ?? ''")


def test_every_page_has_an_address_and_passes_axe(screen: tuple[Any, str], stack: Stack, tmp_path: Path) -> None:
    page, scheme = screen
    page.get_by_test_id("user").filter(has_text="Signed in as local").wait_for(timeout=30_000)
    check_page(page, "analyse", scheme)

    cat = tmp_path / "a-cat-with-a-rather-long-name-from-a-phone-camera.png"
    photo(96, "chelsea").save(cat)
    page.get_by_test_id("operation-denoise").check()
    page.locator("select[name=method]").select_option("tv")  # the quickest model job
    page.get_by_test_id("file-input").set_input_files(str(cat))
    page.get_by_test_id("preview").wait_for()
    check_page(page, "analyse-picked", scheme)
    # Remove text: the mask brush over the photo, with its tools.
    page.get_by_test_id("operation-inpaint").check()
    page.locator('[data-testid="mask-canvas"][data-ready="true"]').wait_for(timeout=30_000)
    check_page(page, "analyse-mask", scheme)
    page.get_by_test_id("operation-denoise").check()
    page.locator("select[name=method]").select_option("tv")
    page.get_by_test_id("preview").wait_for()

    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("status")).to_have_text("Done", timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(
        "() => { const img = document.querySelector('[data-testid=\"after\"]');"
        " return img?.complete && img.naturalWidth > 0 }"
    )
    run_address = page.url
    assert re.search(r"/run/[0-9A-Z]{26}$", run_address), run_address
    expect(page).to_have_title("Run · Image AI analysis")
    expect(page.get_by_test_id("what-ran")).to_be_visible()
    check_page(page, "run-done", scheme)

    # History: its own address, the page starts at its top with focus on its content.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.get_by_test_id("tab-history").click()
    expect(page).to_have_url(f"{stack.url}/history")
    expect(page).to_have_title("History · Image AI analysis")
    cards = page.get_by_test_id("history-item")
    expect(cards.first).to_have_attribute("data-status", "SUCCEEDED")
    expect(cards.first.get_by_test_id("history-name")).to_have_text(cat.name)
    expect(cards.first.get_by_test_id("history-status")).to_have_text(re.compile(r"^Done in \d"))
    assert focused_id(page) == "main"
    assert page.evaluate("window.scrollY") == 0
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"thumbnail\"]')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    check_page(page, "history", scheme)

    page.get_by_test_id("tab-ops").click()
    expect(page).to_have_url(f"{stack.url}/ops")
    page.get_by_test_id("ops-executions").locator("tbody tr").first.click()
    expect(page.get_by_test_id("ops-outcome")).to_contain_text("Succeeded in")
    check_page(page, "ops", scheme)

    page.get_by_test_id("tab-analytics").click()
    expect(page).to_have_url(f"{stack.url}/analytics")
    page.get_by_test_id("query").select_option("failure_rate_per_operation")
    expect(page.get_by_test_id("answer")).to_contain_text("denoise", timeout=30_000)
    check_page(page, "analytics", scheme)

    # Back and Forward walk the same addresses, each showing its page; a reload stays where it was.
    page.go_back()
    expect(page).to_have_url(f"{stack.url}/ops")
    expect(page.get_by_test_id("ops-executions")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(f"{stack.url}/history")
    expect(cards.first).to_be_visible()
    page.go_back()
    expect(page).to_have_url(run_address)
    expect(page.get_by_test_id("status")).to_have_text("Done")
    expect(page.get_by_test_id("compare")).to_be_visible()
    page.go_forward()
    expect(page).to_have_url(f"{stack.url}/history")
    page.reload()
    expect(page).to_have_url(f"{stack.url}/history")
    expect(cards.first).to_have_attribute("data-status", "SUCCEEDED", timeout=30_000)
    page.goto(run_address)
    expect(page.get_by_test_id("status")).to_have_text("Done", timeout=30_000)
    # From the run, "back to the photo" is the first page's address.
    page.get_by_test_id("back-to-photo").click()
    expect(page).to_have_url(f"{stack.url}/")
