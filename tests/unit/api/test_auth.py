"""Every protected route needs a valid JWT: RS256, our issuer, our client, a token_use, not expired."""

from __future__ import annotations

import base64
import stat
import time
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from aiorch.settings import Settings
from aiorch_local.server import is_loopback
from lambdas.api.auth import LOCAL_ISSUER, AuthError, LocalIssuer, issue_local_token, verifier_for


def signed(settings: Settings, **overrides: Any) -> str:
    """A token from the local issuer's own key, with some claims changed."""
    issuer = LocalIssuer(settings)
    now = int(time.time())
    claims = {
        "iss": LOCAL_ISSUER,
        "sub": "alice",
        "token_use": "access",
        "client_id": settings.auth_client_id,
        "iat": now,
        "exp": now + 600,
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, issuer.private_key, algorithm="RS256", headers={"kid": issuer.jwk()["kid"]})


def get_history(client: TestClient, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get("/image-ai-analysis", headers=headers)


def assert_unauthorized(response: Any, words: str) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert words in response.json()["detail"]


def test_a_valid_token_is_accepted(client: TestClient, settings: Settings) -> None:
    response = get_history(client, signed(settings))
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


def test_no_token(client: TestClient) -> None:
    assert_unauthorized(get_history(client, None), "no bearer token")


def test_garbage_token(client: TestClient) -> None:
    assert_unauthorized(get_history(client, "not-a-jwt"), "not a well-formed JWT")


def test_expired_token(client: TestClient, settings: Settings) -> None:
    token = signed(settings, iat=int(time.time()) - 7200, exp=int(time.time()) - 60)
    assert_unauthorized(get_history(client, token), "expired")


def test_wrong_issuer(client: TestClient, settings: Settings) -> None:
    token = signed(settings, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")
    assert_unauthorized(get_history(client, token), "another identity provider")


def test_wrong_client_id_on_an_access_token(client: TestClient, settings: Settings) -> None:
    assert_unauthorized(get_history(client, signed(settings, client_id="someone-else")), "another application")


def test_wrong_audience_on_an_id_token(client: TestClient, settings: Settings) -> None:
    token = signed(settings, token_use="id", client_id=None, aud="someone-else")
    assert_unauthorized(get_history(client, token), "another application")


def test_right_audience_on_an_id_token(client: TestClient, settings: Settings) -> None:
    token = signed(settings, token_use="id", client_id=None, aud=settings.auth_client_id)
    assert get_history(client, token).status_code == 200


def test_token_use_must_be_access_or_id(client: TestClient, settings: Settings) -> None:
    assert_unauthorized(get_history(client, signed(settings, token_use="refresh")), "token_use")


def test_missing_token_use(client: TestClient, settings: Settings) -> None:
    assert_unauthorized(get_history(client, signed(settings, token_use=None)), "token_use")


def test_tampered_signature(client: TestClient, settings: Settings) -> None:
    header, payload, signature = signed(settings).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 0xFF
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert_unauthorized(get_history(client, f"{header}.{payload}.{tampered}"), "signature is not valid")


def test_tampered_claims(client: TestClient, settings: Settings) -> None:
    header, _, signature = signed(settings).split(".")
    forged = jwt.utils.base64url_encode(b'{"sub":"bob","iss":"urn:aiorch:local-issuer"}').decode()
    assert_unauthorized(get_history(client, f"{header}.{forged}.{signature}"), "")


def test_a_key_from_another_install_is_unknown(client: TestClient, settings: Settings, tmp_path: Any) -> None:
    other = LocalIssuer(settings.model_copy(update={"data_dir": tmp_path / "other"}))
    assert_unauthorized(get_history(client, other.issue("alice")), "key this service does not know")


def test_hs256_with_the_public_key_is_refused(client: TestClient, settings: Settings) -> None:
    # The classic algorithm-confusion attack: sign with HMAC using the public key as the secret.
    now = int(time.time())
    claims = {"iss": LOCAL_ISSUER, "sub": "alice", "token_use": "access", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, "public-key-bytes", algorithm="HS256")
    assert_unauthorized(get_history(client, token), "RS256")


def test_unsafe_subject_is_refused(client: TestClient, settings: Settings) -> None:
    assert_unauthorized(get_history(client, signed(settings, sub="../bob")), "subject")


def test_the_local_key_is_private_and_made_once(settings: Settings) -> None:
    first = issue_local_token(settings, "alice")
    key_file = settings.data_dir / "auth" / "local-issuer-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    before = key_file.read_bytes()
    second = issue_local_token(settings, "alice")
    assert key_file.read_bytes() == before
    verifier = verifier_for(settings)
    assert verifier.verify(first).user == verifier.verify(second).user == "alice"


def test_issue_local_token_refuses_unsafe_names(settings: Settings) -> None:
    with pytest.raises(ValueError):
        issue_local_token(settings, "a/b")


def test_verifier_refetches_the_jwks_once_for_an_unknown_key(settings: Settings) -> None:
    calls: list[bool] = []
    issuer = LocalIssuer(settings)

    def jwks(refresh: bool) -> dict[str, Any]:
        calls.append(refresh)
        return {"keys": []} if not refresh else issuer.jwks()

    from lambdas.api.auth import TokenVerifier

    verifier = TokenVerifier(LOCAL_ISSUER, settings.auth_client_id, jwks)
    assert verifier.verify(issuer.issue("carol")).user == "carol"
    assert calls == [False, True]
    with pytest.raises(AuthError):
        TokenVerifier(LOCAL_ISSUER, settings.auth_client_id, lambda refresh: {"keys": []}).verify(issuer.issue("carol"))


def test_public_routes_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/.well-known/jwks.json").json()["keys"][0]["alg"] == "RS256"
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/config.json").json() == {"api_base_url": ""}


def test_authorize_signs_the_local_user_in_on_loopback(client: TestClient, settings: Settings) -> None:
    response = client.get("/authorize")
    assert response.status_code == 200
    tokens = response.json()
    assert tokens["user"] == settings.local_user
    history = client.get("/image-ai-analysis", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert history.status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_authorize_refuses_automatic_sign_in_off_loopback(settings: Settings, service: Any, host: str) -> None:
    from lambdas.api.app import create_app

    client = TestClient(create_app(settings.model_copy(update={"api_host": host}), service))
    response = client.get("/authorize")
    assert response.status_code == 403
    assert "loopback" in response.json()["detail"]


def test_authorize_refuses_a_page_under_another_name_even_on_loopback(settings: Settings, service: Any) -> None:
    from lambdas.api.app import create_app

    client = TestClient(create_app(settings, service), base_url="http://rebound.example:8000")
    response = client.get("/authorize")
    assert response.status_code == 403
    assert "127.0.0.1 or localhost" in response.json()["detail"]


def test_authorize_can_be_turned_off(settings: Settings, service: Any) -> None:
    from lambdas.api.app import create_app

    client = TestClient(create_app(settings.model_copy(update={"local_auto_sign_in": False}), service))
    assert client.get("/authorize").status_code == 403


@pytest.mark.parametrize(
    ("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False)]
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
