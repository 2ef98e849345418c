"""The local server answers index.html for the front end's routes (a reload or a shared /run/<id> link
works) and never for an API path or a missing asset, which stay 404s."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aiorch.analysis import AnalysisService
from aiorch.settings import Settings
from lambdas.api.app import create_app

PAGE = "<!doctype html><title>the app</title>"


@pytest.fixture
def site(settings: Settings, service: AnalysisService, tmp_path: Path) -> TestClient:
    frontend = tmp_path / "dist"
    (frontend / "assets").mkdir(parents=True)
    (frontend / "index.html").write_text(PAGE)
    (frontend / "assets" / "app.js").write_text("console.log(1)")
    settings = settings.model_copy(update={"frontend_dir": frontend})
    return TestClient(create_app(settings, service), base_url="http://127.0.0.1:8000")


@pytest.mark.parametrize("path", ["/", "/run/01JDQZ8M3V6Y7N2W4X5A9B0C1D", "/history", "/ops", "/analytics"])
def test_the_spa_routes_get_the_page(site: TestClient, path: str) -> None:
    answer = site.get(path)
    assert answer.status_code == 200
    assert answer.text == PAGE


@pytest.mark.parametrize(
    "path", ["/image-ai-analysis/nope/more", "/no-such-api", "/assets/missing.js", "/uploads/x", "/downloads/x/y"]
)
def test_other_missing_paths_stay_404_and_never_the_page(site: TestClient, path: str) -> None:
    answer = site.get(path)
    assert answer.status_code in (401, 404, 405), answer.status_code
    assert PAGE not in answer.text


def test_assets_are_still_served(site: TestClient) -> None:
    assert site.get("/assets/app.js").text == "console.log(1)"
