"""Only requests that came through CloudFront reach the API in AWS.

CloudFront serves the SPA and routes the API's paths to API Gateway behind the web
ACL (iac/modules/frontend). The HTTP API's own execute-api URL would be a way
around that ACL, and HTTP APIs take neither a web ACL nor a resource policy, so
CloudFront adds a secret header (an origin custom header) and the Lambda checks it
before the app sees the request. ``disable_execute_api_endpoint`` is no option
without a custom domain: CloudFront itself reaches the API through that endpoint.
AWS: "Restricting access to a custom origin" / "Adding custom headers to origin requests"
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

ORIGIN_HEADER = "x-origin-verify"  # API Gateway v2 events carry header names in lower case


def origin_refusal(event: dict[str, Any], secret: str | None) -> dict[str, Any] | None:
    """None when the request may proceed; otherwise the 403 response to return."""
    if not secret:
        return None
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    given = str(headers.get(ORIGIN_HEADER, ""))
    if hmac.compare_digest(given.encode(), secret.encode()):
        return None
    body = {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "call the API through the front end's address (CloudFront), not the API Gateway URL",
    }
    return {"statusCode": 403, "headers": {"content-type": "application/problem+json"}, "body": json.dumps(body)}
