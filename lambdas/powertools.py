"""aws-lambda-powertools objects shared by every handler.

Tracing is on only inside AWS Lambda (powertools detects it); locally the same
handlers run in-process in the states service, where there is no X-Ray daemon.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "aiorch"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, disabled=not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
metrics = Metrics(namespace="aiorch", service=SERVICE)


def lambda_entry(fn: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any], Any], Any]:
    """Wrap a handler with powertools' logging context, tracing and metrics flush.

    Works with a real Lambda context and with the local states service's ``None``.
    """

    traced = tracer.capture_lambda_handler(fn)

    @wraps(fn)
    def handler(event: dict[str, Any], context: Any = None) -> Any:
        if context is not None and hasattr(context, "aws_request_id"):
            logger.append_keys(request_id=context.aws_request_id)
        try:
            return traced(event, context)
        finally:
            metrics.flush_metrics(raise_on_empty_metrics=False)

    return handler
