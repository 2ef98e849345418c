"""lambdas/api/README.md's route table is the app's routes: every method and path the served document
names has its row, and no row names a route the app does not serve (it once named a local_server.py
that did not exist and said DELETE cancels)."""

from __future__ import annotations

import re
from pathlib import Path

from aiorch.analysis import AnalysisService
from aiorch.settings import Settings
from lambdas.api.app import create_app
from tests.fakes.states import FakeStates

README = Path(__file__).resolve().parents[3] / "lambdas" / "api" / "README.md"
ROUTE = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)` \|")


def readme_routes() -> list[tuple[str, str]]:
    return [m.groups() for line in README.read_text().splitlines() if (m := ROUTE.match(line))]  # type: ignore[misc]


def test_the_readmes_route_table_is_the_apps_routes(settings: Settings) -> None:
    app = create_app(settings, AnalysisService(settings, states_client=FakeStates()))
    served = {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}
    rows = readme_routes()
    assert len(rows) == len(set(rows)), "a route has two rows"
    assert set(rows) == served, {"missing from the README": served - set(rows), "not served": set(rows) - served}


def test_the_readme_names_files_that_exist() -> None:
    root = README.parents[2]
    for name in re.findall(r"`([\w/]+\.py)", README.read_text()):
        found = (root / name).exists() or (README.parent / name).exists() or any(root.glob(f"tests/**/{name}"))
        assert found, f"lambdas/api/README.md names {name}, which does not exist"
