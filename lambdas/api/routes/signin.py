"""Sign-in: the local user's tokens on loopback, or Cognito's from a Hosted UI code or the refresh cookie."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from lambdas.api import schemas
from lambdas.api.context import Ctx, is_loopback
from lambdas.api.problems import Problem

REFRESH_COOKIE = "aiorch_refresh"
REFRESH_COOKIE_MAX_AGE_S = 30 * 24 * 3600

router = APIRouter(tags=["public"])


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
) -> dict[str, Any]:
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
        return {
            "access_token": ctx.local_issuer.issue(user),
            "id_token": ctx.local_issuer.issue(user, token_use="id"),
            "expires_in": settings.local_token_ttl_s,
            "user": user,
        }
    if ctx.cognito is None:
        raise Problem(403, "this deployment has no Hosted UI configured (auth_domain)")
    refresh_token = request.cookies.get(REFRESH_COOKIE)
    if code:
        if not code_verifier:
            raise Problem(400, "code_verifier (PKCE) is required with code")
        body = ctx.cognito.exchange_code(code, code_verifier, redirect_uri or settings.auth_redirect_uri or "")
    elif refresh_token:
        body = ctx.cognito.refresh(refresh_token)
    else:
        assert settings.auth_domain is not None
        raise Problem(
            401,
            "sign in through the hosted sign-in page",
            sign_in={
                "authorize_endpoint": settings.auth_domain.rstrip("/") + "/oauth2/authorize",
                "client_id": settings.auth_client_id,
                "redirect_uri": settings.auth_redirect_uri,
                "scope": "openid email profile",
            },
        )
    user = ctx.verifier.verify(body["access_token"]).user
    if body.get("refresh_token"):
        response.set_cookie(
            REFRESH_COOKIE,
            body["refresh_token"],
            max_age=REFRESH_COOKIE_MAX_AGE_S,
            httponly=True,
            secure=True,
            samesite="strict",
            path="/authorize",
        )
    return {
        "access_token": body["access_token"],
        "id_token": body.get("id_token"),
        "expires_in": int(body.get("expires_in", 3600)),
        "user": user,
    }
