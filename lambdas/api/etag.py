"""ETag and 304 for a status poll: a client polling every second or so gets ``304 Not Modified`` (no
body) until the execution moves on.

The tag is a hash of the execution's view as the service gives it, before the API adds its expiring
links, and without what changes on every read by itself (the time so far and the estimate of the time
left: a client counts those from ``started_at``; and ``stage_at``, which Batch's several queued events
rewrite under the same stage words). It is weak (``W/``): two answers with one tag mean the
same, not the same bytes (the links are signed anew). ``Cache-Control: no-cache`` makes every cache ask
again each time, with ``If-None-Match``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

CACHE_CONTROL = "no-cache"
_CLOCK_FIELDS = ("elapsed_s", "remaining_s", "stage_remaining_s", "stage_at")


def _without_clock(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items() if k not in _CLOCK_FIELDS}
    if isinstance(value, list):
        return [_without_clock(v) for v in value]
    return value


def view_etag(view: Any) -> str:
    """The weak ETag of an execution view (a pydantic model or its dict)."""
    data = view.model_dump(mode="json") if hasattr(view, "model_dump") else view
    digest = hashlib.sha256(json.dumps(_without_clock(data), sort_keys=True, default=str).encode()).hexdigest()
    return f'W/"{digest[:32]}"'


def matches(request: Request, etag: str) -> bool:
    """Whether the request's If-None-Match names ``etag`` (weak comparison, as RFC 9110 has it for it)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})


def tag(response: Response, etag: str) -> None:
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = CACHE_CONTROL
