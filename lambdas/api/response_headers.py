"""Adds the core's security headers (aiorch/web_headers.py) to every answer of the app: the API's JSON,
problems, downloads from local storage (``X-Content-Type-Options: nosniff``, so a browser never runs
an uploaded file as something else) and the built front end (its Content-Security-Policy, with
``frame-ancestors 'none'``). A header a route set itself is kept.

A plain ASGI middleware (not ``@app.middleware("http")``): it touches only the response's start
message, so streamed and static-file answers pass through unchanged."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiorch.settings import Settings
from aiorch.web_headers import security_headers


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(SecurityHeaders, headers=security_headers(settings))


class SecurityHeaders:
    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
