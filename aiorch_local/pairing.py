"""Pairing: another device (a phone) signs in by opening a short-lived, single-use link.

``aiorch serve`` (and ``aiorch pair``) prints ``http://<host>:<port>/pair/<code>``, with a QR code of it
in the terminal. Opening it exchanges the code for a session on that device: an HttpOnly cookie that
``GET /authorize`` turns into the local user's tokens, as automatic sign-in does on loopback. The session
lasts ``SESSION_TTL_S`` or until the device signs out (``DELETE /authorize``).

Codes and sessions are kept under ``<data_dir>/auth/pairing.sqlite3`` as SHA-256 hashes only (a copy of
the file signs no one in), so ``aiorch pair`` in another process makes codes the server accepts and
sessions outlive a restart. A code is spent by one conditional UPDATE: of two devices opening the same
link at once, exactly one gets a session.

Only the local server serves this (it is not part of the deployed API: in AWS, Cognito's Hosted UI signs
people in), so ``/pair/...`` is not in the app's OpenAPI document nor in ``public_routes.json``.
"""

from __future__ import annotations

import hashlib
import html
import io
import ipaddress
import os
import re
import secrets
import socket
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiorch.settings import Settings
from lambdas.api.auth import LocalIssuer
from lambdas.api.context import is_loopback

CODE_TTL_S = 10 * 60  # long enough to find the phone and scan; short enough that a photo of it goes stale
SESSION_TTL_S = 30 * 24 * 3600  # a paired phone stays in for a month unless it signs out
SESSION_COOKIE = "aiorch_session"
# The cookie goes only where it is used: the app trades it for tokens at /authorize, nowhere else.
SESSION_COOKIE_PATH = "/authorize"
PAIR_PATH = "/pair/"
# secrets.token_urlsafe's alphabet; anything else in the path is not a code we made.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SPENT_MESSAGE = "this pairing link has expired or was already used: run aiorch pair for a new one"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def store_path(settings: Settings) -> Path:
    return settings.data_dir / "auth" / "pairing.sqlite3"


class PairingStore:
    """Pairing codes and the sessions they became, hashed, in one SQLite file shared by processes."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            # Hashes only, but still nobody else's business: 0600 before SQLite opens it.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS codes (hash TEXT PRIMARY KEY, expires_at REAL NOT NULL, used_at REAL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS sessions "
                "(hash TEXT PRIMARY KEY, user TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        # Autocommit: each statement is its own transaction, so the spending UPDATE is atomic on its own.
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def new_code(self, ttl_s: float = CODE_TTL_S) -> str:
        code = secrets.token_urlsafe(16)
        now = self.clock()
        with closing(self._connect()) as db:
            # Spent and expired codes are of no further use: dropped as new ones are made.
            db.execute("DELETE FROM codes WHERE expires_at < ?", (now,))
            db.execute("INSERT INTO codes (hash, expires_at) VALUES (?, ?)", (_digest(code), now + ttl_s))
        return code

    def spend_code(self, code: str) -> bool:
        """True for exactly one caller per unexpired code; False when unknown, expired or already spent."""
        if not CODE_PATTERN.match(code):
            return False
        now = self.clock()
        with closing(self._connect()) as db:
            spent = db.execute(
                "UPDATE codes SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?",
                (now, _digest(code), now),
            )
            return spent.rowcount == 1

    def new_session(self, user: str, ttl_s: float = SESSION_TTL_S) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with closing(self._connect()) as db:
            db.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            db.execute(
                "INSERT INTO sessions (hash, user, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (_digest(token), user, now, now + ttl_s),
            )
        return token

    def session_user(self, token: str) -> str | None:
        """The user of a live session, or None (unknown, expired or signed out)."""
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT user FROM sessions WHERE hash = ? AND expires_at > ?", (_digest(token), self.clock())
            ).fetchone()
        return str(row[0]) if row else None

    def end_session(self, token: str) -> bool:
        with closing(self._connect()) as db:
            return db.execute("DELETE FROM sessions WHERE hash = ?", (_digest(token),)).rowcount == 1


# --- the link and its QR code --------------------------------------------------------------------


def lan_address() -> str | None:
    """This machine's address on the network its default route leads to (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere, only used to pick an interface
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


def link_base(host: str, port: int, lan: Callable[[], str | None] = lan_address) -> str:
    """The address another device opens: the listening host, or, when listening on every interface,
    this machine's network address (a phone cannot open 0.0.0.0)."""
    shown = host
    if host in ("0.0.0.0", "::", ""):
        shown = lan() or "127.0.0.1"
    try:
        if ipaddress.ip_address(shown).version == 6:
            shown = f"[{shown}]"
    except ValueError:
        pass  # a host name
    return f"http://{shown}:{port}"


def pairing_link(base: str, code: str) -> str:
    return f"{base.rstrip('/')}{PAIR_PATH}{code}"


def base_file(settings: Settings) -> Path:
    """Where ``aiorch serve`` writes the address it serves at, for ``aiorch pair`` in another process."""
    return settings.data_dir / "auth" / "pairing-base"


def qr_text(link: str) -> str:
    """The link as a QR code drawn with block characters (two rows per line), for a terminal."""
    import segno

    drawn = io.StringIO()
    segno.make(link, error="m").terminal(out=drawn, compact=True)
    return drawn.getvalue()


def pairing_message(link: str) -> str:
    """What the terminal shows: the link, its QR code, and how long it lasts. A loopback link gets no QR
    code (a phone that scanned it would open its own 127.0.0.1) but says how to serve the network."""
    minutes = CODE_TTL_S // 60
    lines = [f"Pair a phone or another browser: open {link}", f"(works once, for {minutes} minutes)"]
    if not is_loopback(urlsplit(link).hostname or ""):
        lines.insert(0, qr_text(link))
    else:
        lines.append(
            "This link only works on this machine: serve with `--host 0.0.0.0` to pair a phone on your network."
        )
    return "\n".join(lines)


def issue_link(settings: Settings, base: str | None = None) -> str:
    """A new pairing link: a fresh code under the address ``aiorch serve`` serves at (or the settings')."""
    if base is None:
        try:
            base = base_file(settings).read_text(encoding="utf-8").strip() or None
        except OSError:
            base = None
    base = base or link_base(settings.api_host, settings.api_port)
    return pairing_link(base, PairingStore(store_path(settings)).new_code())


def spent_page() -> HTMLResponse:
    text = html.escape(SPENT_MESSAGE[0].upper() + SPENT_MESSAGE[1:])
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Pairing link not valid</title></head><body><main><h1>Pairing link not valid</h1>"
        f'<p data-testid="pairing-refused">{text}.</p></main></body></html>'
    )
    # 410 Gone: the link existed (or may have), and it will not work again.
    return HTMLResponse(body, status_code=410, headers={"Cache-Control": "no-store"})


# --- the server side -----------------------------------------------------------------------------


class PairedSessions:
    """ASGI middleware of the local server: ``GET /pair/<code>`` and the session cookie at ``/authorize``.

    Placed inside the app's security headers (``install``), so its answers carry them too.
    """

    def __init__(self, app: ASGIApp, settings: Settings, issuer: LocalIssuer, store: PairingStore) -> None:
        self.app = app
        self.settings = settings
        self.issuer = issuer
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path.startswith(PAIR_PATH) and method in ("GET", "HEAD"):
            response = await self._pair(Request(scope), path[len(PAIR_PATH) :])
            await response(scope, receive, send)
            return
        if path == SESSION_COOKIE_PATH:
            request = Request(scope)
            token = request.cookies.get(SESSION_COOKIE)
            if token:
                await self._with_session(request, token, receive, send)
                return
        await self.app(scope, receive, send)

    async def _pair(self, request: Request, code: str) -> Response:
        if request.method == "HEAD":
            # Link previews (a chat app, a phone's camera) send HEAD: they must not spend the code.
            return Response(status_code=200, headers={"Cache-Control": "no-store"})
        if not await run_in_threadpool(self.store.spend_code, code):
            return spent_page()
        token = await run_in_threadpool(self.store.new_session, self.settings.local_user)
        response = RedirectResponse("/", status_code=303, headers={"Cache-Control": "no-store"})
        set_session_cookie(response, token, secure=request.url.scheme == "https")
        return response

    async def _with_session(self, request: Request, token: str, receive: Receive, send: Send) -> None:
        user = await run_in_threadpool(self.store.session_user, token)
        if request.method == "GET" and user is not None:
            body = {
                "access_token": self.issuer.issue(user),
                "id_token": self.issuer.issue(user, token_use="id"),
                "expires_in": self.settings.local_token_ttl_s,
                "user": user,
            }
            answer = JSONResponse(body, headers={"Cache-Control": "no-store"})
            await answer(request.scope, receive, send)
            return
        if request.method == "DELETE" or user is None:
            # Signing out ends the session here; a stale cookie (expired, or signed out elsewhere) is cleared.
            if request.method == "DELETE":
                await run_in_threadpool(self.store.end_session, token)
            secure = request.url.scheme == "https"

            async def send_clearing_cookie(message: Message) -> None:
                if message["type"] == "http.response.start":
                    cleared = Response()
                    cleared.delete_cookie(
                        SESSION_COOKIE, path=SESSION_COOKIE_PATH, httponly=True, secure=secure, samesite="lax"
                    )
                    # Only its Set-Cookie: the blank response's own Content-Length beside the real one is
                    # two lengths, which a browser refuses as a network error (sign-out then failed).
                    clearing = [(k, v) for k, v in cleared.raw_headers if k.lower() == b"set-cookie"]
                    message["headers"] = [*message.get("headers", []), *clearing]
                await send(message)

            await self.app(request.scope, receive, send_clearing_cookie)
            return
        await self.app(request.scope, receive, send)


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    """HttpOnly (no script reads it), SameSite=Lax (not sent on other sites' requests), Secure only over
    HTTPS: a browser drops a Secure cookie set over plain http, and the local server usually is plain http
    on the local network (README, "Pairing a phone")."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_TTL_S,
        path=SESSION_COOKIE_PATH,
        httponly=True,
        secure=secure,
        samesite="lax",
    )


def install(app: FastAPI, settings: Settings, store: PairingStore | None = None) -> PairingStore:
    """Serve pairing in the local app (only with the local issuer: with Cognito, its Hosted UI signs in)."""
    issuer = app.state.ctx.local_issuer
    assert issuer is not None, "pairing signs in the local issuer's users"
    store = store or PairingStore(store_path(settings))
    # Appended: the innermost of the app's own middleware, inside its security headers.
    app.user_middleware.append(Middleware(PairedSessions, settings=settings, issuer=issuer, store=store))
    return store
