"""The local stack on free ports with a temporary data dir, and Debian's chromium driven by playwright.

Builds the front end when ``frontend/dist`` is missing or stale, and needs ``/usr/bin/chromium`` (Debian
package ``chromium``); playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aiorch.settings import Settings
from tests.support import local_server

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
# The two screens every page is checked and photographed at: a laptop and a phone.
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class Stack:
    url: str
    settings: Settings
    log: Path


def built_frontend() -> Path:
    """frontend/dist, built (npm ci when needed, then vite build) when missing or older than its sources."""
    frontend = REPO / "frontend"
    built = frontend / "dist" / "index.html"
    sources = [frontend / "index.html", frontend / "package-lock.json", *(frontend / "src").rglob("*")]
    newest_source = max(p.stat().st_mtime for p in sources if p.is_file())
    if built.is_file() and built.stat().st_mtime >= newest_source:
        return built.parent
    steps = [["npm", "ci", "--no-audit", "--no-fund"]] if not (frontend / "node_modules").is_dir() else []
    for step in [*steps, ["npx", "vite", "build"]]:
        done = subprocess.run(step, cwd=frontend, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.fail(f"building the front end failed ({' '.join(step)}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return built.parent


# The real job CLI, which a test can hold at known progress points (tests/fakes/paced_jobs.py): pacing is
# off, and the job runs exactly as `python -m jobs`, unless a test creates <data_dir>/paced-jobs.
PACED_JOBS = {"AIORCH_JOB_MODULE": "tests.fakes.paced_jobs"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    built_frontend()
    with local_server(tmp_path_factory.mktemp("e2e-data"), "api.log", env=PACED_JOBS) as (url, settings, log):
        yield Stack(url, settings, log)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package `chromium` (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport=DESKTOP)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.goto(stack.url)
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """test-artifacts/e2e/<name>-<width>x<height>.png, the whole page (or, full_page=False, only what the
    screen shows): one systematic name per page and size."""
    size = page.viewport_size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{size['width']}x{size['height']}.png"
    page.screenshot(path=path, full_page=full_page)
    return path


AXE = REPO / "frontend" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is now (all of axe's default rules), one line each. axe is
    injected as an inline script: the page's context needs bypass_csp=True (the app's CSP refuses it)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` in frontend/")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => (await axe.run(document)).violations.map((v) =>
             `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`
             + (v.nodes[0]?.failureSummary ? ` -- ${v.nodes[0].failureSummary.replace(/\\s+/g, ' ')}` : ''))"""
    )


class Api:
    """The local API as a script sees it: signed in as the local user (loopback), no browser."""

    def __init__(self, url: str) -> None:
        import httpx

        self.client = httpx.Client(base_url=url, timeout=60)
        token = self.client.get("/authorize").raise_for_status().json()["access_token"]
        self.client.headers["Authorization"] = f"Bearer {token}"

    def upload(self, data: bytes, filename: str, content_type: str = "image/png") -> Any:
        """The two steps the browser takes: ask for a target, then post the form to it. Returns the response."""
        target = self.client.post("/uploads", json={"content_type": content_type}).raise_for_status().json()
        files = {target["file_field"]: (filename, data, content_type)}
        return self.client.post(target["url"], data=target["fields"], files=files)

    def submit(self, operation: str, upload: str, options: dict[str, Any]) -> Any:
        body = {"operation": operation, "upload": upload, "options": options}
        return self.client.post("/image-ai-analysis", json=body, headers={"Idempotency-Key": os.urandom(8).hex()})

    def wait_until_ended(self, execution_id: str, timeout_s: float = 120) -> dict[str, Any]:
        """Poll the execution until it ends (what a script following it would do)."""
        deadline = time.monotonic() + timeout_s
        while True:
            execution: dict[str, Any] = self.client.get(f"/image-ai-analysis/{execution_id}").raise_for_status().json()
            if execution["status"] != "RUNNING" or time.monotonic() > deadline:
                return execution
            time.sleep(0.3)


@pytest.fixture(scope="module")
def api(stack: Stack) -> Api:
    return Api(stack.url)
