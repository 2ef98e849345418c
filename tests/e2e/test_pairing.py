"""Pairing another device, with automatic sign-in off: the link `aiorch serve` prints signs a fresh browser
in, the session survives a reload until it signs out, and the same link does not work a second time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from aiorch_local.pairing import SPENT_MESSAGE
from tests.e2e.conftest import DESKTOP, PHONE, Stack, axe_violations, built_frontend, screenshot
from tests.support import local_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LINK = re.compile(r"open (http://\S+/pair/[A-Za-z0-9_-]+)")


@pytest.fixture(scope="module")
def no_auto_sign_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    built_frontend()
    env = {"AIORCH_LOCAL_AUTO_SIGN_IN": "false"}
    with local_server(tmp_path_factory.mktemp("pairing-data"), "api.log", env=env) as (url, settings, log):
        yield Stack(url, settings, log)


def printed_link(stack: Stack) -> str:
    """The pairing link the server printed at start, as a person reads it off the terminal."""
    found = LINK.findall(stack.log.read_text(encoding="utf-8", errors="replace"))
    assert found, f"no pairing link in the server's output: {stack.log.read_text()[-2000:]}"
    return str(found[-1])


def fresh_context(browser: Any, viewport: dict[str, int]) -> Any:
    # bypass_csp: axe is injected as an inline script, which the app's Content-Security-Policy refuses.
    return browser.new_context(viewport=viewport, bypass_csp=True)


def test_a_second_browser_pairs_once_through_the_printed_link(browser: Any, no_auto_sign_in: Stack) -> None:
    link = printed_link(no_auto_sign_in)
    assert link.startswith(no_auto_sign_in.url + "/pair/")

    phone = fresh_context(browser, PHONE)
    try:
        page = phone.new_page()
        page.goto(no_auto_sign_in.url)
        # Not signed in: automatic sign-in is off, and this browser has no session yet.
        expect(page.get_by_test_id("error")).to_contain_text("automatic sign-in", timeout=30_000)
        expect(page.get_by_test_id("user")).not_to_contain_text("Signed in")

        page.goto(link)
        expect(page).to_have_url(no_auto_sign_in.url + "/")
        expect(page.get_by_test_id("user")).to_have_text("Signed in as local", timeout=30_000)
        page.reload()
        expect(page.get_by_test_id("user")).to_have_text("Signed in as local", timeout=30_000)
        expect(page.get_by_test_id("error")).to_have_count(0)
        # The local user is an operator and an analyst: both pages are offered.
        expect(page.get_by_test_id("tab-ops")).to_be_visible()
        expect(page.get_by_test_id("tab-analytics")).to_be_visible()
        screenshot(page, "paired")
        # Signing out ends the device's session on the server: a reload no longer gets in.
        page.get_by_test_id("sign-out").click()
        expect(page.get_by_test_id("user")).to_have_text("Signed out")
        page.reload()
        expect(page.get_by_test_id("error")).to_contain_text("automatic sign-in", timeout=30_000)
        expect(page.get_by_test_id("user")).not_to_contain_text("Signed in")
    finally:
        phone.close()

    another = fresh_context(browser, DESKTOP)
    try:
        page = another.new_page()
        answer = page.goto(link)
        assert answer is not None and answer.status == 410
        expect(page.get_by_test_id("pairing-refused")).to_contain_text(SPENT_MESSAGE[1:])
        assert axe_violations(page) == []
        screenshot(page, "pairing-link-spent")
        page.goto(no_auto_sign_in.url)
        expect(page.get_by_test_id("error")).to_contain_text("automatic sign-in", timeout=30_000)
        expect(page.get_by_test_id("user")).not_to_contain_text("Signed in")
    finally:
        another.close()
