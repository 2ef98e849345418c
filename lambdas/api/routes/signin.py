"""Sign-in: the local user's tokens on loopback, or Cognito's from a Hosted UI code or the refresh cookie.

With Cognito the session lives in two HttpOnly cookies scoped to ``/authorize``:

- the refresh token, for exactly as long as Cognito honours it (``auth_refresh_token_days``, the app
  client's ``refresh_token_validity``): a cookie that outlived its token left users locked out with a
  bare 401 (W2). A refused refresh now clears the cookie and answers 401 with the sign-in hint the web
  app follows to the Hosted UI (frontend/src/lib/signin.ts reads ``sign_in``).
- the OAuth ``state`` of a Hosted UI round trip (H10), for ten minutes: the hint carries a fresh random
  value, the cookie keeps it, and the callback must send ``state`` back, equal to it (the web app
  forwards it: frontend/src/lib/signin.ts). RFC 6749 §10.12 (CSRF), RFC 9700 §2.1 and §4.7.

``DELETE /authorize`` signs out: it revokes the refresh token at Cognito, clears both cookies and
names Cognito's ``/logout``, which ends the Hosted UI's own session.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from aiorch.settings import Settings
from lambdas.api import schemas
from lambdas.api.auth import AuthError
from lambdas.api.context import Ctx, is_loopback
from lambdas.api.problems import Problem, problem_response

REFRESH_COOKIE = "aiorch_refresh"
STATE_COOKIE = "aiorch_oauth_state"
STATE_COOKIE_MAX_AGE_S = 600  # one trip through the Hosted UI
COOKIE_PATH = "/authorize"
DAY_S = 24 * 3600

router = APIRouter(tags=["auth"])


def refresh_cookie_max_age_s(settings: Settings) -> int:
    """The refresh cookie lives as long as Cognito's refresh token, never longer."""
    return settings.auth_refresh_token_days * DAY_S


def _set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=True, samesite="strict", path=COOKIE_PATH)


def _clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, httponly=True, secure=True, samesite="strict", path=COOKIE_PATH)


def sign_in_required(settings: Settings, detail: str, *, clear_refresh: bool = False) -> JSONResponse:
    """401 with the Hosted UI hint (and a fresh OAuth state in its cookie); optionally the refresh cookie
    cleared, so a refused token is not sent again and again."""
    assert settings.auth_domain is not None
    state = secrets.token_urlsafe(32)
    response = problem_response(
        401,
        detail,
        sign_in={
            "authorize_endpoint": settings.auth_domain.rstrip("/") + "/oauth2/authorize",
            "client_id": settings.auth_client_id,
            "redirect_uri": settings.auth_redirect_uri,
            "scope": "openid email profile",
            "state": state,
        },
    )
    _set_cookie(response, STATE_COOKIE, state, STATE_COOKIE_MAX_AGE_S)
    if clear_refresh:
        _clear_cookie(response, REFRESH_COOKIE)
    return response


@router.get(
    "/authorize",
    response_model=schemas.TokensOut,
    responses={401: {"description": "Sign in first (the body says how)."}, 403: {"description": "Refused."}},
)
def authorize(
    ctx: Ctx,
    request: Request,
    response: Response,
    code: Annotated[str | None, Query(max_length=2048, description="Hosted UI authorization code.")] = None,
    code_verifier: Annotated[str | None, Query(min_length=43, max_length=128, description="PKCE.")] = None,
    redirect_uri: Annotated[str | None, Query(max_length=2048)] = None,
    state: Annotated[
        str | None,
        Query(max_length=256, description="The OAuth state the Hosted UI sent back; must match the sign-in's."),
    ] = None,
) -> schemas.TokensOut | JSONResponse:
    """The session's tokens: locally the local user's (loopback only); with Cognito, from a code or the
    refresh cookie."""
    settings = ctx.settings
    if ctx.local_issuer is not None:
        if not settings.local_auto_sign_in or not is_loopback(settings.api_host):
            raise Problem(
                403,
                "automatic sign-in works only while the server listens on loopback; "
                "get a token with `aiorch token --user NAME`",
            )
        if not is_loopback(request.url.hostname or ""):
            # A page whose own name resolves to 127.0.0.1 (DNS rebinding) must not get the local user's token.
            raise Problem(403, "automatic sign-in answers only pages opened at 127.0.0.1 or localhost")
        user = settings.local_user
        return schemas.TokensOut(
            access_token=ctx.local_issuer.issue(user),
            id_token=ctx.local_issuer.issue(user, token_use="id"),
            expires_in=settings.local_token_ttl_s,
            user=user,
        )
    if ctx.cognito is None:
        raise Problem(403, "this deployment has no Hosted UI configured (auth_domain)")
    refresh_token = request.cookies.get(REFRESH_COOKIE)
    try:
        if code:
            if not code_verifier:
                raise Problem(400, "code_verifier (PKCE) is required with code")
            expected = request.cookies.get(STATE_COOKIE) or ""
            if not state or not expected or not hmac.compare_digest(state.encode(), expected.encode()):
                return sign_in_required(
                    settings, "this sign-in did not start here (its state does not match); sign in again"
                )
            body = ctx.cognito.exchange_code(code, code_verifier, redirect_uri or settings.auth_redirect_uri or "")
        elif refresh_token:
            body = ctx.cognito.refresh(refresh_token)
        else:
            return sign_in_required(settings, "sign in through the hosted sign-in page")
    except AuthError as exc:
        # An expired or revoked refresh token (or a spent code): forget it, and say how to sign in again.
        return sign_in_required(settings, exc.message, clear_refresh=True)
    user = ctx.verifier.verify(body["access_token"]).user
    if body.get("refresh_token"):
        _set_cookie(response, REFRESH_COOKIE, body["refresh_token"], refresh_cookie_max_age_s(settings))
    if code:
        _clear_cookie(response, STATE_COOKIE)  # the round trip is over
    return schemas.TokensOut(
        access_token=body["access_token"],
        id_token=body.get("id_token"),
        expires_in=int(body.get("expires_in", 3600)),
        user=user,
    )


@router.delete("/authorize", response_model=schemas.SignedOut)
def sign_out(ctx: Ctx, request: Request, response: Response) -> schemas.SignedOut:
    """Sign out: the refresh token is revoked at Cognito and its cookie cleared; ``logout_url`` (Cognito's
    /logout, null locally) ends the Hosted UI's session too, so the next sign-in asks for the password."""
    refresh_token = request.cookies.get(REFRESH_COOKIE)
    revoked = bool(refresh_token and ctx.cognito is not None and ctx.cognito.revoke(refresh_token))
    logout_url = ctx.cognito.logout_url() if ctx.cognito is not None else None
    _clear_cookie(response, REFRESH_COOKIE)
    _clear_cookie(response, STATE_COOKIE)
    return schemas.SignedOut(revoked=revoked, logout_url=logout_url)
