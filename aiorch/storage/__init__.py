"""One small storage interface, two backends with the same key layout.

``open_storage(url)`` picks the backend: ``s3://bucket[/prefix]`` → S3, anything
else → a local directory. Jobs receive URIs (``file:///...`` or ``s3://...``)
and use ``open_uri`` to get the storage and key behind them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiorch.storage.base import NotFound, Storage
from aiorch.storage.local import LocalStorage
from aiorch.storage.s3 import S3Storage

if TYPE_CHECKING:
    from aiorch.settings import Settings

__all__ = ["LocalStorage", "NotFound", "S3Storage", "Storage", "open_app_storage", "open_storage", "open_uri"]


def open_storage(url: str, *, s3_endpoint_url: str | None = None, region: str | None = None) -> Storage:
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://") :].partition("/")
        return S3Storage(bucket, prefix=prefix, endpoint_url=s3_endpoint_url, region=region)
    if url.startswith("file://"):
        url = url[len("file://") :]
    return LocalStorage(url)


def open_app_storage(settings: Settings) -> Storage:
    """The storage every part of the app shares (uploads, results, index, analytics)."""
    return open_storage(
        settings.resolved_storage_url, s3_endpoint_url=settings.s3_endpoint_url, region=settings.aws_region
    )


def open_uri(uri: str, *, s3_endpoint_url: str | None = None, region: str | None = None) -> tuple[Storage, str]:
    """Split a job URI into (storage, key). The storage root is the URI's parent for files.

    Give ``region`` (the settings' ``aws_region``): an S3 client is signed for one region's endpoint."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        return S3Storage(bucket, endpoint_url=s3_endpoint_url, region=region), key
    if uri.startswith("file://"):
        from pathlib import Path

        path = Path(uri[len("file://") :])
        trailing = "/" if uri.endswith("/") else ""
        return LocalStorage(path.parent if path.name else path), (path.name + trailing if path.name else "")
    raise ValueError(f"unsupported URI {uri!r}: expected s3://bucket/key or file:///path")
