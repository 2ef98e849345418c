"""Health, the page's configuration and the JWKS: public, cheap, no AWS call."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from lambdas.api import schemas
from lambdas.api.context import Ctx

router = APIRouter(tags=["public"])


@router.get("/healthz", response_model=schemas.HealthOut)
def healthz(ctx: Ctx) -> dict[str, str]:
    return {
        "status": "ok",
        "auth": "local" if ctx.local_issuer else "cognito",
        "storage": "s3" if ctx.transfers.presigned else "local",
    }


@router.get("/config.json", include_in_schema=False)
def frontend_config() -> dict[str, str]:
    """The page's configuration when this server serves it: the API is on the same origin."""
    return {"api_base_url": ""}


@router.get("/.well-known/jwks.json", responses={307: {"description": "Cognito serves the keys."}})
def jwks(ctx: Ctx) -> Any:
    if ctx.local_issuer is None:
        assert ctx.settings.auth_issuer is not None
        return RedirectResponse(ctx.settings.auth_issuer.rstrip("/") + "/.well-known/jwks.json", 307)
    return ctx.local_issuer.jwks()
