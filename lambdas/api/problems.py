"""Errors as RFC 9457 problem details (application/problem+json), in plain words.

Every error the API returns goes through here, so a client sees one shape:
``{"type", "title", "status", "detail"}`` plus extensions (``errors`` for
validation, ``retry_after_s`` for 429). ``describe_problems`` makes the OpenAPI
document say so: every error response of every operation is that document, as
``application/problem+json`` (FastAPI alone would call them ``application/json``).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aiorch.analysis import AnalysisError, TooManyRunning
from lambdas.api import paths, schemas
from lambdas.api.auth import AuthError
from lambdas.api.transfers import LinkError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA = "Problem"


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def problem_response(
    status: int, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body = {
        "type": f"https://aiorch.dev/problems/{phrase.lower().replace(' ', '-')}",
        "title": phrase,
        "status": status,
        "detail": detail,
        **extensions,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_error(err: dict[str, Any]) -> dict[str, str]:
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
    return {"field": where, "message": str(err.get("msg", "is not valid"))}


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, headers=exc.headers, **exc.extensions)

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        challenge = f'Bearer error="invalid_token", error_description="{exc.message}"'
        return problem_response(401, exc.message, headers={"WWW-Authenticate": challenge})

    @app.exception_handler(LinkError)
    async def _link(_: Request, exc: LinkError) -> JSONResponse:
        return problem_response(403, exc.message)

    @app.exception_handler(AnalysisError)
    async def _analysis(_: Request, exc: AnalysisError) -> JSONResponse:
        if isinstance(exc, TooManyRunning):
            retry = max(1, int(exc.retry_after_s))
            return problem_response(
                exc.status_code, exc.message, headers={"Retry-After": str(retry)}, retry_after_s=retry
            )
        return problem_response(exc.status_code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e) for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "the request is not valid"
        return problem_response(422, detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette's Allow names only the first route that matched the path (or the static
            # files' GET, HEAD): name every method the API serves at this path.
            allowed = paths.methods_at(request.app, request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
                detail = f"{request.method} is not served here; use {', '.join(allowed)}"
        return problem_response(exc.status_code, detail, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return problem_response(500, "something went wrong on our side; the error has been logged")


def describe_problems(document: dict[str, Any], problem_schema: dict[str, Any]) -> dict[str, Any]:
    """Make every error response of ``document`` (an OpenAPI document, changed in place) the problem
    document it really is, and drop FastAPI's own validation-error schemas that nothing answers."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in problem_schema.pop("$defs", {}).items():
        components[name] = schema
    components[PROBLEM_SCHEMA] = problem_schema
    reference = {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for code, response in operation.get("responses", {}).items():
                if code != "default" and int(code) < 400:
                    continue
                response["content"] = {PROBLEM_JSON: {"schema": reference}}
                if code != "default" and response.get("description") in (None, "", "Validation Error"):
                    response["description"] = HTTPStatus(int(code)).phrase
                header = ERROR_HEADERS.get(code)
                if header:
                    response.setdefault("headers", {}).update(header)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return document


ERROR_HEADERS: dict[str, dict[str, Any]] = {
    "401": {"WWW-Authenticate": {"description": "Bearer, with the reason.", "schema": {"type": "string"}}},
    "405": {"Allow": {"description": "The methods served here.", "schema": {"type": "string"}}},
    "429": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
}


def install_openapi(app: FastAPI) -> None:
    """``app.openapi()`` answers the document with its errors described as problem documents."""
    generate = app.openapi
    problem_schema = schemas.ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_problems(generate(), problem_schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
