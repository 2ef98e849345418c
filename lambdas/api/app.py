"""The FastAPI app: one ``create_app``, served by uvicorn locally and by Mangum in Lambda.

Routes are thin (``lambdas/api/routes/``): they check who is calling, call
``AnalysisService`` and shape the answer. Every route needs a verified JWT
except the ones that carry their own proof (health, JWKS, /authorize, signed
upload and download links, the static front end, the docs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from aiorch.analysis import AnalysisService
from aiorch.settings import Settings, get_settings
from aiorch.storage import Storage, open_app_storage
from lambdas.api import body_limit, openapi_doc, paths, problems, response_headers
from lambdas.api.auth import LocalIssuer, TokenVerifier, uses_local_issuer, verifier_for
from lambdas.api.cognito import CognitoTokens
from lambdas.api.context import ApiContext, is_loopback
from lambdas.api.routes import analytics, executions, health, operations, retry, signin, transfers, webhooks
from lambdas.api.routes.signin import REFRESH_COOKIE
from lambdas.api.transfers import LinkSigner, Transfers

__all__ = ["REFRESH_COOKIE", "create_app", "is_loopback"]

DEFAULT_FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend" / "dist"


# The front end's own routes: a reload or a shared link on one of them gets the page (index.html).
SPA_ROUTES = frozenset({"run", "history", "ops", "analytics"})


class SpaStaticFiles(StaticFiles):
    """The built front end. Only the SPA's routes fall back to index.html; any other missing path,
    an API path above all, stays a 404 problem, never the page."""

    async def get_response(self, path: str, scope: Any) -> Response:
        url_path = scope["path"]  # the whole path: the mount is at the root
        if paths.methods_at(scope["app"], url_path):
            raise StarletteHTTPException(405)  # an API path without GET (the handler names what it serves)
        try:
            return await super().get_response(path, scope)
        except StarletteHTTPException as exc:
            spa_route = path.split("/", 1)[0] in SPA_ROUTES and not paths.is_api_path(scope["app"], url_path)
            if exc.status_code == 404 and spa_route:
                return await super().get_response("index.html", scope)
            raise


def create_app(
    settings: Settings | None = None,
    service: AnalysisService | None = None,
    *,
    storage: Storage | None = None,
    verifier: TokenVerifier | None = None,
    cognito: CognitoTokens | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    if storage is None:
        storage = getattr(service, "storage", None) or open_app_storage(settings)
    local_issuer = LocalIssuer(settings) if uses_local_issuer(settings) else None
    if cognito is None and not local_issuer and settings.auth_domain:
        cognito = CognitoTokens(settings)
    ctx = ApiContext(
        settings=settings,
        service=service or AnalysisService(settings, storage=storage),
        storage=storage,
        verifier=verifier or verifier_for(settings, local_issuer),
        transfers=Transfers(settings, storage, LinkSigner(settings)),
        local_issuer=local_issuer,
        cognito=cognito,
    )
    app = FastAPI(
        title="aiorch image-ai-analysis API",
        version="1",
        description="Upload an image, run upscale / denoise / inpaint, follow progress, download results.",
        generate_unique_id_function=openapi_doc.operation_id,
    )
    app.state.ctx = ctx
    problems.install(app)
    problems.install_openapi(app)
    openapi_doc.install(app)
    body_limit.install(app, settings)  # inside the security headers: a 413 carries them too
    response_headers.install(app, settings)

    for router in (
        health.router,
        signin.router,
        transfers.public,
        transfers.router,
        executions.router,
        operations.router,
        analytics.router,
        webhooks.router,
        retry.router,
    ):
        app.include_router(router)
    frontend = settings.frontend_dir or DEFAULT_FRONTEND_DIR
    if (frontend / "index.html").is_file():
        app.mount("/", SpaStaticFiles(directory=frontend, html=True), name="frontend")
    return app
