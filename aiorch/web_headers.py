"""The security headers of every web answer, written once.

The local API adds them to everything it serves, the built front end and downloads included
(lambdas/api/response_headers.py); in AWS, CloudFront's response-headers policy (iac/) is to carry the
same text, and a test can hold it equal to ``content_security_policy(...)`` here.

What the built front end needs (frontend/dist, checked by tests/unit/api/test_response_headers.py):
scripts and style sheets from its own origin only (no inline script); ``'unsafe-inline'`` styles,
for the ``style`` bindings Vue writes; images from ``data:`` (the favicon, the mask canvas) and
``blob:`` (a picked file's preview); and, where storage hands out presigned URLs (S3), the
storage's origin for the images it shows and the uploads it posts.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiorch.settings import Settings

CONTENT_TYPE_OPTIONS = "nosniff"
REFERRER_POLICY = "strict-origin-when-cross-origin"


def content_security_policy(storage_origin: str | None = None) -> str:
    """The Content-Security-Policy of the app; ``storage_origin`` (``https://bucket.s3.region.amazonaws.com``)
    where images and uploads go to presigned storage URLs on another origin."""
    storage = f" {storage_origin}" if storage_origin else ""
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob:{storage}",
        f"connect-src 'self'{storage}",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def storage_origin(settings: Settings) -> str | None:
    """The origin presigned storage URLs point at; None when storage is served by the API itself."""
    url = settings.resolved_storage_url
    if not url.startswith("s3://"):
        return None
    if settings.s3_endpoint_url:
        parts = urlsplit(settings.s3_endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"
    bucket = url[len("s3://") :].split("/", 1)[0]
    return f"https://{bucket}.s3.{settings.aws_region}.amazonaws.com"  # virtual-host style (aiorch/storage/s3.py)


def security_headers(settings: Settings) -> dict[str, str]:
    """Every header the app's answers carry, by name."""
    return {
        "Content-Security-Policy": content_security_policy(storage_origin(settings)),
        "X-Content-Type-Options": CONTENT_TYPE_OPTIONS,
        "Referrer-Policy": REFERRER_POLICY,
    }
