"""The small HTTP edges: fetching a JWKS, posting to the Hosted UI token endpoint, and `serve`'s wiring."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aiorch.settings import Settings
from aiorch_local import server as local_server
from lambdas.api.auth import AuthError, LocalIssuer, RemoteJwks
from lambdas.api.cognito import CognitoTokens


@pytest.fixture
def identity_provider(settings: Settings) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in Cognito: its JWKS, and a token endpoint that accepts one code."""
    jwks = LocalIssuer(settings).jwks()
    posted: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self.answer(200, jwks) if self.path == "/pool/.well-known/jwks.json" else self.answer(404, {})

        def do_POST(self) -> None:
            from urllib.parse import parse_qs

            length = int(self.headers["Content-Length"])
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            posted.append({"path": self.path, "content_type": self.headers["Content-Type"], **form})
            if form.get("code") == "good":
                self.answer(200, {"access_token": "A", "id_token": "I", "refresh_token": "R", "expires_in": 3600})
            else:
                self.answer(400, {"error": "invalid_grant"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", posted
    finally:
        server.shutdown()


def test_remote_jwks_is_fetched_and_cached(identity_provider, settings: Settings) -> None:
    base, _ = identity_provider
    jwks = RemoteJwks(f"{base}/pool/.well-known/jwks.json")
    first = jwks()
    assert first["keys"][0]["kid"] == LocalIssuer(settings).jwk()["kid"]
    assert jwks() is first  # cached
    assert jwks(refresh=True) is first  # refreshed at most once a minute


def test_an_unreachable_jwks_is_a_plain_auth_error(identity_provider) -> None:
    base, _ = identity_provider
    with pytest.raises(AuthError, match="could not be fetched"):
        RemoteJwks(f"{base}/missing")()


def test_the_token_endpoint_is_posted_as_a_form(identity_provider, settings: Settings) -> None:
    base, posted = identity_provider
    tokens = CognitoTokens(settings.model_copy(update={"auth_domain": base, "auth_client_id": "spa"}))
    assert tokens.exchange_code("good", "v" * 43, "https://app/cb")["refresh_token"] == "R"
    assert posted[-1] == {
        "path": "/oauth2/token",
        "content_type": "application/x-www-form-urlencoded",
        "grant_type": "authorization_code",
        "code": "good",
        "code_verifier": "v" * 43,
        "redirect_uri": "https://app/cb",
        "client_id": "spa",
    }
    with pytest.raises(AuthError, match="invalid_grant"):
        tokens.refresh("stale")


def test_cognito_tokens_need_a_hosted_ui(settings: Settings) -> None:
    with pytest.raises(ValueError, match="auth_domain"):
        CognitoTokens(settings)


def test_serve_starts_the_states_service_then_uvicorn_on_the_asked_address(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, Any]] = []
    import workflows.local.client

    monkeypatch.setattr(workflows.local.client, "ensure_service", lambda s: calls.append(("states", s.api_port)))
    monkeypatch.setattr(
        local_server.uvicorn, "run", lambda app, host, port, **_: calls.append(("uvicorn", (app, host, port)))
    )
    local_server.main(["--host", "127.0.0.1", "--port", "18999"])
    assert calls[0] == ("states", 18999)
    _, (app, host, port) = calls[1]
    assert (host, port) == ("127.0.0.1", 18999)
    assert app.state.ctx.settings.api_port == 18999
