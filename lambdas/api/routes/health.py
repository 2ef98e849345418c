"""Health, readiness, the page's configuration and the JWKS: public and cheap.

``/healthz`` says the API process answers and calls nothing (the public probe, also in AWS).
``/readyz`` checks the states service and storage separately and answers 503 when either is
down; its answer is kept for ``READY_TTL_S``, so a probe every second costs one check per TTL.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse

from aiorch.analysis.errors import without_endpoints
from lambdas.api import schemas
from lambdas.api.context import Ctx
from lambdas.api.problems import problem_response

router = APIRouter()


@router.get("/healthz", response_model=schemas.HealthOut, tags=["health"])
def healthz(ctx: Ctx) -> schemas.HealthOut:
    return schemas.HealthOut(
        status="ok",
        auth="local" if ctx.local_issuer else "cognito",
        storage="s3" if ctx.transfers.presigned else "local",
    )


READY_TTL_S = 2.0
# A key that need not exist: HEAD answers 404 when storage is up. In AWS the API role reads and lists
# health/ and may DescribeStateMachine for this (iac/modules/lambdas/main.tf, asserted by terraform test).
READY_PROBE_KEY = "health/ready-probe"
_ready_lock = threading.Lock()
_ready_cache: dict[int, tuple[float, dict[str, Any]]] = {}  # id(app context) -> (checked at, answer)


def _check(call: Any) -> dict[str, str]:
    try:
        call()
    except Exception as exc:  # any failure is "down", with its reason in plain words (no endpoint URL)
        return {"status": "down", "reason": without_endpoints(f"{type(exc).__name__}: {exc}")[:300]}
    return {"status": "up"}


def _supervision(settings: Any) -> str | None:
    """What `aiorch serve`'s supervisor last said of the local states service (restarting it, how
    often), when a live supervisor wrote it; None in AWS or without one."""
    try:
        said = json.loads(settings.states_supervision_file.read_text(encoding="utf-8"))
        os.kill(int(said["supervisor_pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(said.get("message") or "") or None


def readiness(ctx: Any) -> dict[str, Any]:
    settings = ctx.settings
    states = _check(
        lambda: ctx.service.states.describe_state_machine(stateMachineArn=settings.resolved_state_machine_arn)
    )
    if states["status"] == "down" and (supervisor := _supervision(settings)):
        states["supervisor"] = supervisor
    storage = _check(lambda: ctx.storage.exists(READY_PROBE_KEY))
    ready = states["status"] == "up" and storage["status"] == "up"
    return {"status": "ready" if ready else "not ready", "states": states, "storage": storage}


@router.get(
    "/readyz",
    tags=["health"],
    responses={503: {"description": "The states service or storage is down; the body says which and why."}},
)
def readyz(ctx: Ctx) -> JSONResponse:
    now = time.monotonic()
    with _ready_lock:
        cached = _ready_cache.get(id(ctx))
        if cached is None or now - cached[0] > READY_TTL_S:
            cached = (now, readiness(ctx))
            _ready_cache[id(ctx)] = cached
    answer = cached[1]
    if answer["status"] == "ready":
        return JSONResponse(answer)
    down = [f"{part}: {answer[part]['reason']}" for part in ("states", "storage") if answer[part]["status"] == "down"]
    # A problem like every other error answer, with each part's state as extensions.
    return problem_response(503, "not ready: " + "; ".join(down), states=answer["states"], storage=answer["storage"])


@router.get("/config.json", include_in_schema=False)
def frontend_config() -> dict[str, str]:
    """The page's configuration when this server serves it: the API is on the same origin."""
    return {"api_base_url": ""}


@router.get("/.well-known/jwks.json", tags=["auth"], responses={307: {"description": "Cognito serves the keys."}})
def jwks(ctx: Ctx) -> Any:
    if ctx.local_issuer is None:
        assert ctx.settings.auth_issuer is not None
        return RedirectResponse(ctx.settings.auth_issuer.rstrip("/") + "/.well-known/jwks.json", 307)
    return ctx.local_issuer.jwks()
