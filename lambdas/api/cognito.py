"""The Cognito Hosted UI token endpoint: authorization code (with PKCE) and refresh grants.

The SPA is a public client: it sends its PKCE ``code_verifier`` instead of a secret.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from aiorch.settings import Settings
from lambdas.api.auth import AuthError

# (url, form fields) -> (HTTP status, JSON body); replaced in tests.
TokenPost = Callable[[str, dict[str, str]], tuple[int, dict[str, Any]]]


def _post_form(url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(json.loads(resp.read()))
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, dict(json.loads(exc.read()))
        except ValueError:
            return exc.code, {}


class CognitoTokens:
    def __init__(self, settings: Settings, post: TokenPost | None = None) -> None:
        if not settings.auth_domain:
            raise ValueError("auth_domain (the Cognito Hosted UI base URL) is not configured")
        self.settings = settings
        self.token_url = settings.auth_domain.rstrip("/") + "/oauth2/token"
        self.post = post or _post_form

    def _grant(self, form: dict[str, str]) -> dict[str, Any]:
        status, body = self.post(self.token_url, {**form, "client_id": self.settings.auth_client_id})
        if status != 200 or "access_token" not in body:
            reason = body.get("error", f"HTTP {status}")
            raise AuthError(f"sign-in was refused by the identity provider ({reason}); sign in again")
        return body

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
        return self._grant(
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": redirect_uri,
            }
        )

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        return self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, refresh_token: str) -> bool:
        """Revoke a refresh token (and the access tokens issued from it) at sign-out; True when Cognito
        took it. A public client sends its id in the form. Amazon Cognito Developer Guide: "The token
        revocation endpoint" (https://docs.aws.amazon.com/cognito/latest/developerguide/revocation-endpoint.html)."""
        url = self.token_url.removesuffix("/oauth2/token") + "/oauth2/revoke"
        try:
            status, _ = self.post(url, {"token": refresh_token, "client_id": self.settings.auth_client_id})
        except OSError:  # sign-out goes on: the cookie is cleared whatever Cognito answers
            return False
        return status == 200

    def logout_url(self) -> str | None:
        """Cognito's /logout, which ends the Hosted UI's own session and returns to the app's origin (one of
        the app client's sign-out URLs: iac/envs/dev passes the front end's origins as logout_urls).
        Amazon Cognito Developer Guide: "The logout endpoint"
        (https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html)."""
        redirect = self.settings.auth_redirect_uri
        if not redirect:
            return None
        parts = urllib.parse.urlsplit(redirect)
        query = urllib.parse.urlencode(
            {"client_id": self.settings.auth_client_id, "logout_uri": f"{parts.scheme}://{parts.netloc}"}
        )
        return self.token_url.removesuffix("/oauth2/token") + f"/logout?{query}"
