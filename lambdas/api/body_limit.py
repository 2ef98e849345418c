"""Request bodies are counted as they arrive and cut at their limit, with or without Content-Length.

A declared length over the limit is refused before anything is read. A body sent chunked (no
declared length) is counted chunk by chunk, and the first byte past the limit ends the reading:
whatever the route was doing with it (a multipart parse, FastAPI's body read) answers 413, never a
400 "error parsing the body", and nothing past the limit is held in memory or spooled to disk.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiorch.operations import MAX_OPTIONS_BYTES
from aiorch.settings import Settings
from lambdas.api import problems

UPLOAD_PATH_PREFIX = "/local-uploads/"
UPLOAD_FORM_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries and the form fields around the file
# Every other body is a small JSON request: options (MAX_OPTIONS_BYTES), two keys, an operation.
MAX_JSON_BODY_BYTES = 16 * 1024


def limit_for(settings: Settings) -> Callable[[str], tuple[int, str]]:
    """path -> (the most bytes its body may have, the limit as a person reads it)."""

    def limit(path: str) -> tuple[int, str]:
        if path.startswith(UPLOAD_PATH_PREFIX):
            return settings.upload_max_bytes + UPLOAD_FORM_OVERHEAD_BYTES, f"{settings.upload_max_bytes} bytes"
        return MAX_JSON_BODY_BYTES, f"{MAX_JSON_BODY_BYTES} bytes (options at most {MAX_OPTIONS_BYTES} bytes)"

    return limit


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(BodyLimit, limit_for=limit_for(settings))


class BodyLimit:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], tuple[int, str]]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, in_words = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > limit:
            what = "the upload" if scope["path"].startswith(UPLOAD_PATH_PREFIX) else "the request body"
            await problems.problem_response(413, f"{what} is {int(declared)} bytes; the limit is {in_words}")(
                scope, receive, send
            )
            return
        received = 0
        cut = False
        answered = False

        async def counted_receive() -> Message:
            nonlocal received, cut
            if cut:  # the body ends here for whoever reads on
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut = True
                    raise BodyTooLarge
            return message

        async def send_or_refuse(message: Message) -> None:
            nonlocal answered
            if cut:
                if not answered and message["type"] == "http.response.start":
                    answered = True
                    detail = f"the body is larger than its limit of {in_words}"
                    await problems.problem_response(413, detail)(scope, receive, send)
                return  # the route's own answer to the cut body is dropped
            await send(message)

        try:
            await self.app(scope, counted_receive, send_or_refuse)
        except BodyTooLarge:
            if not answered:
                await problems.problem_response(413, f"the body is larger than its limit of {in_words}")(
                    scope, receive, send
                )


class BodyTooLarge(Exception):
    """Raised into the reader of a body that passed its limit."""
