"""Cognito-shaped tokens: a user pool in moto's cognito-idp (USER_PASSWORD_AUTH), its JWKS fetched from
moto, verified by the same code the local issuer's tokens go through."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from fastapi.testclient import TestClient
from moto import mock_aws

from aiorch.settings import Settings
from lambdas.api.app import REFRESH_COOKIE, create_app
from lambdas.api.auth import RemoteJwks, TokenVerifier, verifier_for
from lambdas.api.cognito import CognitoTokens

REGION = "us-east-1"


@pytest.fixture
def pool() -> Iterator[dict[str, Any]]:
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool_id = idp.create_user_pool(PoolName="aiorch")["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="spa", ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        other_client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="other")["UserPoolClient"]
        idp.admin_create_user(UserPoolId=pool_id, Username="dana", TemporaryPassword="Temp-pass-1!")
        idp.admin_set_user_password(UserPoolId=pool_id, Username="dana", Password="Real-pass-1!", Permanent=True)
        yield {
            "idp": idp,
            "pool_id": pool_id,
            "client_id": client_id,
            "other_client_id": other_client["ClientId"],
            "issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
        }


def sign_in(pool: dict[str, Any], client_id: str | None = None) -> dict[str, str]:
    result = pool["idp"].initiate_auth(
        ClientId=client_id or pool["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "dana", "PASSWORD": "Real-pass-1!"},
    )
    return dict(result["AuthenticationResult"])


def fetch_from_moto(url: str) -> dict[str, Any]:
    # Inside mock_aws, moto answers the pool's JWKS URL (requests is patched; urllib is not).
    return dict(requests.get(url, timeout=5).json())


@pytest.fixture
def cognito_settings(settings: Settings, pool: dict[str, Any]) -> Settings:
    return settings.model_copy(
        update={
            "auth_issuer": pool["issuer"],
            "auth_client_id": pool["client_id"],
            "auth_domain": "https://aiorch.auth.us-east-1.amazoncognito.com",
            "auth_redirect_uri": "https://app.example/callback",
        }
    )


@pytest.fixture
def verifier(cognito_settings: Settings) -> TokenVerifier:
    default = verifier_for(cognito_settings)
    assert isinstance(default.jwks, RemoteJwks)
    assert default.jwks.url == cognito_settings.auth_issuer + "/.well-known/jwks.json"
    return TokenVerifier(default.issuer, default.client_id, RemoteJwks(default.jwks.url, fetch=fetch_from_moto))


def test_cognito_access_and_id_tokens_verify(pool, verifier) -> None:
    tokens = sign_in(pool)
    user_sub = pool["idp"].admin_get_user(UserPoolId=pool["pool_id"], Username="dana")["UserAttributes"]
    sub = next(a["Value"] for a in user_sub if a["Name"] == "sub")
    access = verifier.verify(tokens["AccessToken"])
    assert access.user == sub and access.claims["token_use"] == "access"
    assert verifier.verify(tokens["IdToken"]).user == sub


def test_a_token_for_another_app_client_is_refused(pool, verifier) -> None:
    from lambdas.api.auth import AuthError

    pool["idp"].update_user_pool_client(
        UserPoolId=pool["pool_id"], ClientId=pool["other_client_id"], ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
    )
    tokens = sign_in(pool, pool["other_client_id"])
    with pytest.raises(AuthError, match="another application"):
        verifier.verify(tokens["AccessToken"])


def test_a_token_from_another_pool_is_refused(pool, cognito_settings) -> None:
    from lambdas.api.auth import AuthError

    other = TokenVerifier(
        cognito_settings.auth_issuer + "x",
        cognito_settings.auth_client_id,
        lambda refresh: fetch_from_moto(cognito_settings.auth_issuer + "/.well-known/jwks.json"),
    )
    with pytest.raises(AuthError, match="another identity provider"):
        other.verify(sign_in(pool)["AccessToken"])


def test_the_api_accepts_a_cognito_user_and_isolates_them(pool, cognito_settings, verifier, photo_png) -> None:
    from aiorch.analysis import AnalysisService
    from tests.unit.api.conftest import FakeStates

    service = AnalysisService(cognito_settings, states_client=FakeStates())
    client = TestClient(create_app(cognito_settings, service, verifier=verifier))
    headers = {"Authorization": f"Bearer {sign_in(pool)['AccessToken']}"}
    assert client.get("/image-ai-analysis", headers=headers).status_code == 200
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=headers)
    assert target.status_code == 201
    sub = verifier.verify(sign_in(pool)["AccessToken"]).user
    # Local storage with Cognito auth still gives signed local links, keyed under the Cognito sub.
    sent = client.post(
        target.json()["url"], data=target.json()["fields"], files={"file": ("p", photo_png, "image/png")}
    )
    assert sent.json()["upload"].startswith(f"uploads/{sub}/")
    jwks = client.get("/.well-known/jwks.json", follow_redirects=False)
    assert jwks.status_code == 307 and jwks.headers["location"].startswith(pool["issuer"])


def test_authorize_exchanges_a_code_and_keeps_the_refresh_token_in_an_httponly_cookie(
    pool, cognito_settings, verifier
) -> None:
    issued = sign_in(pool)
    posts: list[tuple[str, dict[str, str]]] = []
    cognito = CognitoTokens(cognito_settings, post=_token_endpoint(issued, posts))
    client = TestClient(create_app(cognito_settings, verifier=verifier, cognito=cognito), base_url="https://testserver")

    asked = client.get("/authorize")
    assert asked.status_code == 401
    assert asked.json()["sign_in"]["authorize_endpoint"].endswith("/oauth2/authorize")
    state = asked.json()["sign_in"]["state"]

    verifier_code = "v" * 43
    response = client.get("/authorize", params={"code": "good-code", "code_verifier": verifier_code, "state": state})
    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    assert response.json()["access_token"] == issued["AccessToken"]
    cookie = response.headers["set-cookie"]
    assert f"{REFRESH_COOKIE}=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "samesite=strict" in cookie.lower() and "Path=/authorize" in cookie
    url, form = posts[-1]
    assert url == "https://aiorch.auth.us-east-1.amazoncognito.com/oauth2/token"
    assert form["code_verifier"] == verifier_code and form["client_id"] == cognito_settings.auth_client_id
    assert form["redirect_uri"] == "https://app.example/callback"

    refreshed = client.get("/authorize")  # the cookie is sent back: the refresh grant
    assert refreshed.status_code == 200 and posts[-1][1]["grant_type"] == "refresh_token"

    bad = TestClient(create_app(cognito_settings, verifier=verifier, cognito=cognito), base_url="https://testserver")
    state = bad.get("/authorize").json()["sign_in"]["state"]
    refused = bad.get("/authorize", params={"code": "bad-code", "code_verifier": verifier_code, "state": state})
    assert refused.status_code == 401 and "invalid_grant" in refused.json()["detail"]


# --- the session's cookies (W2, H10) -----------------------------------------------------------------


def _token_endpoint(issued: dict[str, str], posts: list[tuple[str, dict[str, str]]]) -> Any:
    def post(url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        posts.append((url, form))
        if url.endswith("/oauth2/revoke"):
            return 200, {}
        if form["grant_type"] == "authorization_code" and form["code"] == "good-code":
            body = {"access_token": issued["AccessToken"], "id_token": issued["IdToken"], "expires_in": 3600}
            return 200, {**body, "refresh_token": issued["RefreshToken"]}
        if form["grant_type"] == "refresh_token" and form["refresh_token"] == issued["RefreshToken"]:
            return 200, {"access_token": issued["AccessToken"], "id_token": issued["IdToken"], "expires_in": 3600}
        return 400, {"error": "invalid_grant"}

    return post


@pytest.fixture
def session(pool, cognito_settings, verifier) -> tuple[TestClient, list[tuple[str, dict[str, str]]]]:
    posts: list[tuple[str, dict[str, str]]] = []
    cognito = CognitoTokens(cognito_settings, post=_token_endpoint(sign_in(pool), posts))
    app = create_app(cognito_settings, verifier=verifier, cognito=cognito)
    return TestClient(app, base_url="https://testserver"), posts


def _set_cookies(response: Any) -> dict[str, str]:
    """Each Set-Cookie header by cookie name."""
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def test_the_refresh_cookie_lives_exactly_as_long_as_cognitos_refresh_token(session, cognito_settings) -> None:
    """W2: the cookie lived 30 days, Cognito's refresh token 7; for 23 days a signed-in user met a bare 401."""
    client, _ = session
    state = client.get("/authorize").json()["sign_in"]["state"]
    response = client.get("/authorize", params={"code": "good-code", "code_verifier": "v" * 43, "state": state})
    assert response.status_code == 200
    cookie = _set_cookies(response)[REFRESH_COOKIE]
    assert f"Max-Age={cognito_settings.auth_refresh_token_days * 24 * 3600}" in cookie
    assert cognito_settings.auth_refresh_token_days == 7


def test_the_refresh_token_lifetime_setting_defaults_to_terraforms_refresh_token_validity() -> None:
    """One number: the setting's default is the auth module's refresh_token_validity_days default, and
    iac/envs/dev passes the app client's own value as AIORCH_AUTH_REFRESH_TOKEN_DAYS (asserted by
    iac/envs/dev/tests/dev.tftest.hcl)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    variables = (root / "iac/modules/auth/variables.tf").read_text(encoding="utf-8")
    block = variables.split('variable "refresh_token_validity_days"', 1)[1].split("\n}", 1)[0]
    default = int(re.search(r"default\s*=\s*(\d+)", block).group(1))  # type: ignore[union-attr]
    assert Settings.model_fields["auth_refresh_token_days"].default == default
    main = (root / "iac/modules/auth/main.tf").read_text(encoding="utf-8")
    assert 'refresh_token = "days"' in main  # the unit the setting counts in
    dev = (root / "iac/envs/dev/main.tf").read_text(encoding="utf-8")
    assert "AIORCH_AUTH_REFRESH_TOKEN_DAYS" in dev


def test_a_refused_refresh_clears_the_cookie_and_answers_with_the_sign_in_hint(session) -> None:
    """W2: an expired or revoked refresh token answered a bare 401 and the HttpOnly cookie (which the web
    app cannot delete) stayed, so every reload failed the same way. Now the web app gets the hint it
    follows to the Hosted UI (frontend/src/lib/signin.ts reads body.sign_in) and the cookie goes."""
    client, posts = session
    client.cookies.set(REFRESH_COOKIE, "expired-token", domain="testserver.local", path="/authorize")
    refused = client.get("/authorize")
    assert posts[-1][1]["grant_type"] == "refresh_token"
    assert refused.status_code == 401
    hint = refused.json()["sign_in"]
    assert hint["authorize_endpoint"].endswith("/oauth2/authorize") and hint["client_id"]
    assert "invalid_grant" in refused.json()["detail"]
    cleared = _set_cookies(refused)[REFRESH_COOKIE]
    assert 'aiorch_refresh=""' in cleared or "aiorch_refresh=;" in cleared
    assert "Max-Age=0" in cleared and "Path=/authorize" in cleared


def test_the_hosted_ui_round_trip_carries_an_oauth_state_checked_on_the_callback(session) -> None:
    """H10: the sign-in hint carries a random state, kept in a short-lived HttpOnly cookie; a callback that
    sends back another state, or none, is refused before any code exchange."""
    from lambdas.api.routes.signin import STATE_COOKIE, STATE_COOKIE_MAX_AGE_S

    client, posts = session
    asked = client.get("/authorize")
    state = asked.json()["sign_in"]["state"]
    assert len(state) >= 32
    cookie = _set_cookies(asked)[STATE_COOKIE]
    assert f"{STATE_COOKIE}={state}" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert f"Max-Age={STATE_COOKIE_MAX_AGE_S}" in cookie and "Path=/authorize" in cookie
    assert client.get("/authorize").json()["sign_in"]["state"] != state  # fresh for every round trip

    client.cookies.set(STATE_COOKIE, state, domain="testserver.local", path="/authorize")
    forged = client.get("/authorize", params={"code": "good-code", "code_verifier": "v" * 43, "state": "other"})
    assert forged.status_code == 401 and "state" in forged.json()["detail"] and "sign_in" in forged.json()
    assert not any(form.get("code") == "good-code" for _, form in posts)  # never exchanged
    unsent = client.get("/authorize", params={"code": "good-code", "code_verifier": "v" * 43})
    assert unsent.status_code == 401 and "state" in unsent.json()["detail"]  # a callback must send it back
    assert not any(form.get("code") == "good-code" for _, form in posts)

    client.cookies.set(STATE_COOKIE, state, domain="testserver.local", path="/authorize")
    good = client.get("/authorize", params={"code": "good-code", "code_verifier": "v" * 43, "state": state})
    assert good.status_code == 200
    assert "Max-Age=0" in _set_cookies(good)[STATE_COOKIE]  # the round trip is over


def test_sign_out_revokes_the_refresh_token_clears_the_cookies_and_names_cognitos_logout(
    session, cognito_settings
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from lambdas.api.routes.signin import STATE_COOKIE

    client, posts = session
    client.cookies.set(REFRESH_COOKIE, "the-refresh-token", domain="testserver.local", path="/authorize")
    out = client.delete("/authorize")
    assert out.status_code == 200 and out.json()["revoked"] is True
    url, form = posts[-1]
    assert url == "https://aiorch.auth.us-east-1.amazoncognito.com/oauth2/revoke"
    assert form == {"token": "the-refresh-token", "client_id": cognito_settings.auth_client_id}
    cookies = _set_cookies(out)
    assert "Max-Age=0" in cookies[REFRESH_COOKIE] and "Max-Age=0" in cookies[STATE_COOKIE]
    logout = urlsplit(out.json()["logout_url"])
    assert f"{logout.scheme}://{logout.netloc}{logout.path}" == "https://aiorch.auth.us-east-1.amazoncognito.com/logout"
    # logout_uri must be one of the app client's sign-out URLs: iac/envs/dev passes the front end's origins.
    assert parse_qs(logout.query) == {
        "client_id": [cognito_settings.auth_client_id],
        "logout_uri": ["https://app.example"],
    }


def test_sign_out_locally_has_no_logout_url_and_revokes_nothing(settings) -> None:
    from aiorch.analysis import AnalysisService
    from tests.unit.api.conftest import FakeStates

    client = TestClient(create_app(settings, AnalysisService(settings, states_client=FakeStates())))
    out = client.delete("/authorize")
    assert out.status_code == 200 and out.json() == {"revoked": False, "logout_url": None}
