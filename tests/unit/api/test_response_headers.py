"""Every answer carries the core's security headers (aiorch/web_headers.py): downloads from local
storage say ``X-Content-Type-Options: nosniff``, the app's pages a Content-Security-Policy with
``frame-ancestors 'none'``; and the built front end runs under that policy (no inline script, no eval,
nothing from another origin)."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiorch.analysis import AnalysisService
from aiorch.settings import Settings
from aiorch.web_headers import content_security_policy, security_headers, storage_origin
from lambdas.api.app import create_app
from tests.fakes.states import FakeStates
from tests.unit.api.conftest import Upload

REPO = Path(__file__).resolve().parents[3]
DIST = REPO / "frontend" / "dist"


def directives(policy: str) -> dict[str, list[str]]:
    return {name: rest for name, *rest in (part.split() for part in policy.split(";") if part.strip())}


def test_a_download_from_local_storage_says_nosniff(
    client: TestClient, alice: dict[str, str], upload: Upload, photo_png: bytes
) -> None:
    key = upload(alice, photo_png)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    link = ctx.transfers.download_url("alice", key, "http://127.0.0.1:8000", filename="photo.png")
    answer = client.get(link.removeprefix("http://127.0.0.1:8000"))
    assert answer.status_code == 200 and answer.content == photo_png
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_api_answers_and_problems_carry_the_policy(client: TestClient) -> None:
    for path in ("/healthz", "/image-ai-analysis"):  # an answer and a 401 problem
        answer = client.get(path)
        policy = directives(answer.headers["content-security-policy"])
        assert policy["frame-ancestors"] == ["'none'"]
        assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.skipif(not (DIST / "index.html").is_file(), reason="the front end is not built")
def test_the_built_front_end_is_served_with_the_policy_and_runs_under_it(settings: Settings, tmp_path: Path) -> None:
    frontend = tmp_path / "dist"
    shutil.copytree(DIST, frontend)
    app = create_app(
        settings.model_copy(update={"frontend_dir": frontend}), AnalysisService(settings, states_client=FakeStates())
    )
    page = TestClient(app, base_url="http://127.0.0.1:8000").get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    policy = directives(page.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"] and policy["script-src"] == ["'self'"]

    class Refs(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inline_scripts = 0
            self.refs: list[str] = []
            self.handlers: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            named = dict(attrs)
            if tag == "script" and not named.get("src"):
                self.inline_scripts += 1
            self.refs += [v for k, v in attrs if k in ("src", "href") and v]
            self.handlers += [k for k, _ in attrs if k.startswith("on")]

    refs = Refs()
    refs.feed(page.text)
    assert refs.inline_scripts == 0 and not refs.handlers  # script-src 'self' allows neither
    for ref in refs.refs:  # same origin, or data: (the favicon: img-src data:)
        assert ref.startswith("/") or ref.startswith("data:"), ref
        if ref.startswith("/"):
            assert TestClient(app, base_url="http://127.0.0.1:8000").get(ref).status_code == 200, ref
    for script in frontend.glob("assets/*.js"):
        code = script.read_text(encoding="utf-8")
        assert not re.search(r"\bnew Function\(|\beval\(", code), f"{script.name} needs 'unsafe-eval'"
        assert not re.search(r"""import\(["']https?://""", code), f"{script.name} loads code from another origin"


def test_presigned_storage_is_allowed_for_images_and_uploads() -> None:
    s3 = Settings(storage_url="s3://my-bucket/prefix", aws_region="eu-west-1")
    assert storage_origin(s3) == "https://my-bucket.s3.eu-west-1.amazonaws.com"
    policy = directives(security_headers(s3)["Content-Security-Policy"])
    assert "https://my-bucket.s3.eu-west-1.amazonaws.com" in policy["img-src"]
    assert "https://my-bucket.s3.eu-west-1.amazonaws.com" in policy["connect-src"]
    assert {"data:", "blob:", "'self'"} <= set(policy["img-src"])
    minio = Settings(storage_url="s3://b", s3_endpoint_url="http://127.0.0.1:9000/")
    assert storage_origin(minio) == "http://127.0.0.1:9000"
    assert storage_origin(Settings()) is None
    assert "frame-ancestors 'none'" in content_security_policy()
