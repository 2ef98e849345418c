"""The FastAPI app: one ``create_app``, served by uvicorn locally and by Mangum in Lambda.

Routes are thin: they check who is calling, call ``AnalysisService`` and shape
the answer. Every route needs a verified JWT except the ones that carry their
own proof (health, JWKS, /authorize, signed upload and download links, the
static front end, the docs).
"""

from __future__ import annotations

import ipaddress
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from aiorch import keys
from aiorch.analysis import AnalysisService
from aiorch.analytics.errors import AnalyticsQueryError
from aiorch.analytics.queries import UnknownQuery
from aiorch.analytics.service import list_named_queries, run_named_query
from aiorch.settings import Settings, get_settings
from aiorch.storage import NotFound, Storage, open_app_storage
from lambdas.api import problems, schemas
from lambdas.api.auth import AuthError, LocalIssuer, Principal, TokenVerifier, uses_local_issuer, verifier_for
from lambdas.api.cognito import CognitoTokens
from lambdas.api.problems import Problem
from lambdas.api.transfers import LinkSigner, Transfers

REFRESH_COOKIE = "aiorch_refresh"
REFRESH_COOKIE_MAX_AGE_S = 30 * 24 * 3600
UPLOAD_FORM_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries and the form fields around the file
DEFAULT_FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend" / "dist"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ApiContext:
    """Everything a route needs, built once per app."""

    settings: Settings
    service: AnalysisService
    storage: Storage
    verifier: TokenVerifier
    transfers: Transfers
    local_issuer: LocalIssuer | None  # None with Cognito
    cognito: CognitoTokens | None  # None locally, or when no Hosted UI is configured


def context(request: Request) -> ApiContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


Ctx = Annotated[ApiContext, Depends(context)]
bearer = HTTPBearer(auto_error=False, description="A JWT from Cognito or the local issuer.")


def current_principal(ctx: Ctx, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise AuthError("sign in first: this request carries no bearer token")
    return ctx.verifier.verify(credentials.credentials)


def current_user(principal: Principal = Depends(current_principal)) -> str:
    return principal.user


def current_analyst(ctx: Ctx, principal: Principal = Depends(current_principal)) -> Principal:
    """Analytics span every user's executions: with Cognito, only the analysts group reads them."""
    group = ctx.settings.auth_analysts_group
    if group and group not in (principal.claims.get("cognito:groups") or []):
        raise Problem(403, f"analytics are open to the {group!r} group only")
    return principal


User = Annotated[str, Depends(current_user)]
Analyst = Annotated[Principal, Depends(current_analyst)]
ExecutionId = Annotated[str, PathParam(pattern=schemas.ID_PATTERN, description="The execution id (a ULID).")]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _dump(value: Any) -> dict[str, Any]:
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(mode="json"))
    return dict(value)


def execution_json(ctx: ApiContext, request: Request, user: str, view: Any) -> dict[str, Any]:
    """An ExecutionView as the API shows it: with expiring links to the original and the results."""
    out = _dump(view)
    here = base_url(request)
    for result in out.get("results") or []:
        result["url"] = ctx.transfers.download_url(user, result["key"], here)
    input_key = out.get("input_key")
    if input_key and keys.is_under_user(input_key, user):
        out["input_url"] = ctx.transfers.download_url(user, input_key, here)
    return out


# --- public routes ---------------------------------------------------------------------------------

public = APIRouter(tags=["public"])


@public.get("/healthz", response_model=schemas.HealthOut)
def healthz(ctx: Ctx) -> dict[str, str]:
    return {
        "status": "ok",
        "auth": "local" if ctx.local_issuer else "cognito",
        "storage": "s3" if ctx.transfers.presigned else "local",
    }


@public.get("/config.json", include_in_schema=False)
def frontend_config() -> dict[str, str]:
    """The page's configuration when this server serves it: the API is on the same origin."""
    return {"api_base_url": ""}


@public.get("/.well-known/jwks.json", responses={307: {"description": "Cognito serves the keys."}})
def jwks(ctx: Ctx) -> Any:
    if ctx.local_issuer is None:
        assert ctx.settings.auth_issuer is not None
        return RedirectResponse(ctx.settings.auth_issuer.rstrip("/") + "/.well-known/jwks.json", 307)
    return ctx.local_issuer.jwks()


@public.get(
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


@public.post(
    "/local-uploads/{token}",
    status_code=201,
    response_model=schemas.UploadOut,
    responses={403: {"description": "Link expired or invalid."}, 413: {"description": "Too large."}},
)
def local_upload(
    ctx: Ctx,
    request: Request,
    token: Annotated[str, PathParam(max_length=4096)],
    file: Annotated[bytes, File(description="The image.")],
    content_type: Annotated[str, Form(alias="Content-Type", description="As in the target's fields.")],
) -> dict[str, Any]:
    """The local stand-in for a presigned S3 POST: the token carries the user, type and size limits."""
    claims = ctx.transfers.signer.read("upload", token)
    if content_type != claims["ct"]:
        raise Problem(403, f"this link accepts {claims['ct']} only, not {content_type!r}")
    if len(file) > int(claims["max"]):
        raise Problem(413, f"the image is {len(file)} bytes; the limit is {claims['max']} bytes")
    if not file:
        raise Problem(400, "the uploaded file is empty")
    info = ctx.service.store_upload(claims["user"], file, content_type)
    out = _dump(info)
    out["upload"] = out.get("upload") or out["key"]
    return out


@public.get(
    "/downloads/{token}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "application/json": {}}}, 403: {}, 404: {}},
)
def download(ctx: Ctx, token: Annotated[str, PathParam(max_length=4096)]) -> Response:
    """The local stand-in for a presigned S3 GET."""
    claims = ctx.transfers.signer.read("download", token)
    key = str(claims.get("key", ""))
    if not keys.is_under_user(key, str(claims.get("user", ""))):
        raise Problem(403, "this link is not valid")
    try:
        data = ctx.storage.get_bytes(key)
    except NotFound as exc:
        raise Problem(404, "that file no longer exists") from exc
    media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    # No filename here: the page's <a download="..."> names the file (a header name would override it).
    return Response(data, media_type=media_type, headers={"Content-Disposition": "inline"})


# --- routes for signed-in users --------------------------------------------------------------------

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"description": "No valid token."}}
api = APIRouter(tags=["image-ai-analysis"], responses=UNAUTHORIZED)


@api.post("/uploads", status_code=201, response_model=schemas.UploadTargetOut)
def create_upload(ctx: Ctx, request: Request, user: User, body: schemas.UploadRequest) -> dict[str, Any]:
    """Where to send an image: a presigned S3 POST in AWS, a signed local URL on one machine."""
    target = ctx.transfers.upload_target(user, body.content_type, base_url(request))
    return {**target.__dict__}


@api.post(
    "/image-ai-analysis",
    status_code=202,
    response_model=schemas.SubmittedOut,
    responses={400: {}, 404: {}, 409: {}, 429: {"description": "Too many running; see Retry-After."}},
)
def submit(
    ctx: Ctx,
    request: Request,
    response: Response,
    user: User,
    body: schemas.AnalysisIn,
    idempotency_key: Annotated[
        str | None,
        Header(pattern=schemas.ID_PATTERN, description="The same key returns the same execution."),
    ] = None,
) -> dict[str, Any]:
    record = ctx.service.submit(
        user, body.operation, body.upload, body.mask, body.options, idempotency_key=idempotency_key
    )
    link = f"{base_url(request)}/image-ai-analysis/{record.execution_id}"
    response.headers["Location"] = link
    return {
        "execution_id": record.execution_id,
        "status": str(record.status),
        "operation": str(record.operation),
        "created_at": record.created_at.isoformat(),
        "links": {"self": link, "events": f"{link}/events"},
    }


@api.get("/image-ai-analysis", response_model=schemas.ExecutionPage)
def list_executions(
    ctx: Ctx,
    request: Request,
    user: User,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> dict[str, Any]:
    """The user's executions, newest first."""
    views, next_cursor = ctx.service.list_executions(user, limit=limit, cursor=cursor)
    return {"items": [execution_json(ctx, request, user, v) for v in views], "next_cursor": next_cursor}


@api.get("/image-ai-analysis/{execution_id}", response_model=schemas.ExecutionOut, responses={404: {}})
def get_execution(ctx: Ctx, request: Request, user: User, execution_id: ExecutionId) -> dict[str, Any]:
    return execution_json(ctx, request, user, ctx.service.get_status(user, execution_id))


@api.delete("/image-ai-analysis/{execution_id}", response_model=schemas.ExecutionOut, responses={404: {}})
def cancel_execution(ctx: Ctx, request: Request, user: User, execution_id: ExecutionId) -> dict[str, Any]:
    """Stop the execution and its job."""
    return execution_json(ctx, request, user, ctx.service.cancel(user, execution_id))


@api.get("/image-ai-analysis/{execution_id}/events", response_model=schemas.EventsOut, responses={404: {}})
def execution_events(ctx: Ctx, user: User, execution_id: ExecutionId) -> dict[str, Any]:
    """The execution's state-by-state history (for the ops page)."""
    return {"execution_id": execution_id, "events": ctx.service.history(user, execution_id)}


@api.get("/analytics/queries", response_model=schemas.NamedQueries, tags=["analytics"], responses={403: {}})
def analytics_queries(_: Analyst) -> dict[str, Any]:
    """The analysts' named queries (analytics/queries/*.sql)."""
    return {"queries": list_named_queries()}


@api.get(
    "/analytics/queries/{name}",
    response_model=schemas.QueryAnswer,
    tags=["analytics"],
    responses={403: {}, 404: {}},
)
def analytics_answer(
    ctx: Ctx, _: Analyst, name: Annotated[str, PathParam(pattern=r"^[a-z0-9_]{1,64}$")]
) -> dict[str, Any]:
    """Answer one named query: DuckDB over the local records, or Athena in AWS."""
    try:
        answer = run_named_query(name, ctx.settings)
    except UnknownQuery as exc:
        raise Problem(404, f"there is no named query {name!r}") from exc
    except AnalyticsQueryError as exc:
        # A named query that cannot be answered is our fault, not the caller's: say why.
        raise Problem(500, f"the query {name!r} could not be answered: {exc}") from exc
    return {"name": name, **answer}


# --- the app ---------------------------------------------------------------------------------------


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
    )
    app.state.ctx = ctx
    problems.install(app)

    @app.middleware("http")
    async def refuse_oversized_uploads(request: Request, call_next: Any) -> Response:
        # Checked before the form is parsed, so an oversized body is never spooled to disk.
        if request.url.path.startswith("/local-uploads/"):
            declared = request.headers.get("content-length", "")
            limit = settings.upload_max_bytes + UPLOAD_FORM_OVERHEAD_BYTES
            if declared.isdigit() and int(declared) > limit:
                detail = f"the upload is {int(declared)} bytes; the limit is {settings.upload_max_bytes} bytes"
                return problems.problem_response(413, detail)
        response: Response = await call_next(request)
        return response

    app.include_router(public)
    app.include_router(api)
    frontend = settings.frontend_dir or DEFAULT_FRONTEND_DIR
    if (frontend / "index.html").is_file():
        app.mount("/", StaticFiles(directory=frontend, html=True), name="frontend")
    return app
