"""Lambda entry point: API Gateway → Mangum → the FastAPI app (built once per cold start)."""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from aiorch.settings import get_settings
from lambdas.api.app import create_app
from lambdas.api.origin import origin_refusal

_app = Mangum(create_app(), lifespan="off")
_origin_secret = get_settings().api_origin_secret


def handler(event: dict[str, Any], context: Any) -> Any:
    # Requests that bypass CloudFront (and its web ACL) are refused before the app runs.
    return origin_refusal(event, _origin_secret) or _app(event, context)
