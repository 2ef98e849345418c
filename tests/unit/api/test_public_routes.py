"""The routes without a token are decided once, by the app's route table (issue W1).

API Gateway's JWT authorizer sits on ``$default``: a route the app serves without a token answers
401 in AWS unless it has its own route key with ``authorization_type = "NONE"`` ("Controlling access
to HTTP APIs with JWT authorizers", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html;
"Working with routes for HTTP APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html:
the most specific route wins and ``$default`` catches the rest). moto does not route HTTP APIs nor run
their authorizers, so the Terraform list (iac/modules/api/public_routes.json, read with
``jsondecode(file(...))``) is held to the app here. ``GET /operations`` was missing from it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from aiorch.settings import Settings
from lambdas.api.app import create_app
from lambdas.api.public_routes import public_routes

REPO = Path(__file__).resolve().parents[3]
TERRAFORM_LIST = REPO / "iac" / "modules" / "api" / "public_routes.json"
WEB_CLIENT = REPO / "frontend" / "src" / "lib" / "api.ts"
REWRITE = "python -m lambdas.api.public_routes > iac/modules/api/public_routes.json"


def terraform_public_routes() -> list[str]:
    return list(json.loads(TERRAFORM_LIST.read_text(encoding="utf-8")))


def test_terraforms_public_routes_are_exactly_what_the_app_serves_without_a_token(settings: Settings) -> None:
    assert terraform_public_routes() == public_routes(create_app(settings)), f"rewrite it: {REWRITE}"


def test_a_public_route_added_to_the_app_alone_fails_the_comparison(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/status-page")
    def status_page() -> dict[str, str]:
        return {"status": "ok"}

    app.openapi_schema = None  # the document is cached; the new route must show in it
    assert "GET /status-page" in public_routes(app)
    assert public_routes(app) != terraform_public_routes()


def _method(init: str) -> str:
    """The method a fetch's init object names (GET when it names none)."""
    named = re.search(r"method: '([A-Z]+)'", init)
    return named.group(1) if named else "GET"


def test_the_web_apps_calls_without_a_token_are_public_at_the_gateway() -> None:
    # ApiClient.send(path, init, false) sends no Authorization header (frontend/src/lib/api.ts).
    source = WEB_CLIENT.read_text("utf-8")
    calls = re.findall(r"this\.send\(\s*[`'](/[^`'?$]*)[`'?$][^)]*?,\s*(\{[^}]*\})?,?\s*false\s*\)", source)
    unauthorised = sorted(f"{_method(init)} {path}" for path, init in calls)
    assert unauthorised == ["DELETE /authorize", "GET /authorize", "GET /operations"]
    public = terraform_public_routes()
    assert [route for route in unauthorised if route not in public] == []


def test_the_route_table_says_what_the_app_really_checks(client: TestClient) -> None:
    """The list is read from the OpenAPI ``security`` of each operation: without a token, every listed
    route is answered by its handler and every other one is refused with 401."""
    concrete = {"{token}": "x", "{execution_id}": "01JEXAMPLE0000000000000000", "{name}": "x", "{query_id}": "x"}
    public = set(terraform_public_routes())
    for path, item in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        url = path
        for parameter, value in concrete.items():
            url = url.replace(parameter, value)
        for method in item:
            answer = client.request(method.upper(), url, follow_redirects=False)
            key = f"{method.upper()} {path}"
            assert (answer.status_code == 401) == (key not in public), (key, answer.status_code, answer.text)
