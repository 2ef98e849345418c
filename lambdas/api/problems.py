"""Errors as RFC 9457 problem details (application/problem+json), in plain words.

Every error the API returns goes through here, so a client sees one shape:
``{"type", "title", "status", "detail"}`` plus extensions (``errors`` for
validation, ``retry_after_s`` for 429).
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
from lambdas.api.auth import AuthError
from lambdas.api.transfers import LinkError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


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
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(exc.status_code, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return problem_response(500, "something went wrong on our side; the error has been logged")
