"""What every route depends on: the app's context, who is calling, and shaping an execution for the wire."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aiorch import keys
from aiorch.analysis import AnalysisService
from aiorch.analysis.views import ExecutionView, ResultLink, ThumbnailLink
from aiorch.settings import Settings
from aiorch.storage import Storage
from lambdas.api import schemas
from lambdas.api.auth import AuthError, LocalIssuer, Principal, TokenVerifier
from lambdas.api.cognito import CognitoTokens
from lambdas.api.problems import Problem
from lambdas.api.transfers import Transfers

Responses = dict[int | str, dict[str, Any]]
UNAUTHORIZED: Responses = {401: {"description": "No valid token."}}
STATES_DOWN: Responses = {503: {"description": "The workflow service is down; the problem says why."}}
STORAGE_FULL: Responses = {507: {"description": "Storage is full: nothing was stored."}}
NOT_JSON: Responses = {
    413: {"description": "The body is larger than a request can be (16 KB)."},
    415: {"description": "The body is not application/json."},
}


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


def json_body(request: Request) -> None:
    """Routes that take a JSON body refuse another media type with 415 (FastAPI alone would try to read
    it and answer an unclear 422). No Content-Type at all is read as JSON, as FastAPI does."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json")):
        return
    raise Problem(415, f"send the body as application/json, not {media_type or 'an empty Content-Type'}")


JsonBody = Depends(json_body)


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


def execution_out(ctx: ApiContext, request: Request, user: str, view: ExecutionView) -> schemas.ExecutionOut:
    """An ExecutionView as the API shows it: with expiring links to the original, the results and the
    thumbnail (shown in the page, never saved: no download name), for the execution and each image of
    a batch."""
    here = base_url(request)

    def results(links: list[ResultLink]) -> list[schemas.ResultOut]:
        return [
            schemas.ResultOut(
                **link.model_dump(), url=ctx.transfers.download_url(user, link.key, here, filename=link.filename)
            )
            for link in links
        ]

    def thumbnail(link: ThumbnailLink | None) -> schemas.ThumbnailOut | None:
        if link is None:
            return None
        return schemas.ThumbnailOut(**link.model_dump(), url=ctx.transfers.download_url(user, link.key, here))

    def input_url(key: str, name: str | None) -> str | None:
        if not (key and keys.is_under_user(key, user)):
            return None
        return ctx.transfers.download_url(user, key, here, filename=name)

    linked = {"results", "thumbnail", "images"}
    images = [
        schemas.ImageOut(
            **image.model_dump(exclude=linked),
            results=results(image.results),
            thumbnail=thumbnail(image.thumbnail),
            input_url=input_url(image.input_key, image.original_name),
        )
        for image in view.images
    ]
    return schemas.ExecutionOut(
        **view.model_dump(exclude=linked),
        results=results(view.results),
        thumbnail=thumbnail(view.thumbnail),
        images=images,
        input_url=input_url(view.input_key, view.original_name),
    )
