"""Upload targets and download links: presigned S3 in AWS, signed local URLs on one machine.

Both kinds carry their own signature and expiry, so the routes behind the
local ones need no JWT (like S3's presigned URLs).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt

from aiorch import keys
from aiorch.analysis import EXTENSION_FOR_CONTENT_TYPE
from aiorch.analysis.names import sanitise_name
from aiorch.ids import new_id
from aiorch.settings import Settings
from aiorch.storage import S3Storage, Storage
from lambdas.api.auth import write_private_file

# What the browser may upload, and the extension its key gets.
UPLOAD_CONTENT_TYPES = EXTENSION_FOR_CONTENT_TYPE


def content_disposition(filename: str | None) -> str:
    """``attachment`` with the name in both forms (RFC 6266): ``filename*`` in UTF-8, percent-encoded,
    for every browser of the last decade, and an ASCII ``filename`` fallback with nothing that could
    end the quoted string or the header (names are sanitised when kept; this holds for any name)."""
    if not filename:
        return "attachment"
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class LinkError(Exception):
    """A signed link that is expired, tampered with or meant for something else."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class UploadTarget:
    url: str
    fields: dict[str, str]  # form fields to send before the file (S3 POST policy; the content type)
    max_bytes: int
    content_type: str
    expires_at: int  # Unix seconds
    upload: str | None  # the key the upload will have, when known in advance (S3)


class LinkSigner:
    """Short-lived HS256 tokens for the local upload and download routes; the secret lives under data_dir."""

    def __init__(self, settings: Settings) -> None:
        self.secret_path = settings.data_dir / "auth" / "link-secret"
        self._secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            if not self.secret_path.exists():
                write_private_file(self.secret_path, secrets.token_hex(32).encode())
            self._secret = self.secret_path.read_bytes().strip()
        return self._secret

    def sign(self, purpose: str, claims: dict[str, Any], ttl_s: int) -> str:
        body = {**claims, "purpose": purpose, "exp": int(time.time()) + ttl_s}
        return jwt.encode(body, self.secret, algorithm="HS256")

    def read(self, purpose: str, token: str) -> dict[str, Any]:
        try:
            claims = dict(jwt.decode(token, self.secret, algorithms=["HS256"], options={"require": ["exp"]}))
        except jwt.ExpiredSignatureError as exc:
            raise LinkError("this link has expired: ask for a new one") from exc
        except jwt.PyJWTError as exc:
            raise LinkError("this link is not valid") from exc
        if claims.get("purpose") != purpose:
            raise LinkError("this link is not valid here")
        return claims

    @contextmanager
    def use_once(self, claims: dict[str, Any]) -> Iterator[None]:
        """Spend a link's one use (its ``jti``) for the block; a block that raises gives it back, so
        an upload refused for its content can be sent again with the same link."""
        used = self.secret_path.parent / "used-links"
        used.mkdir(parents=True, exist_ok=True)
        self._forget_expired(used)
        marker = used / re.sub(r"[^0-9a-f]", "", str(claims.get("jti", "")))[:64]
        if marker == used / "":
            raise LinkError("this link is not valid")
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            raise LinkError("this upload link was already used: ask for a new one") from None
        os.utime(marker, (claims["exp"], claims["exp"]))  # kept until the link would have expired anyway
        try:
            yield
        except BaseException:
            marker.unlink(missing_ok=True)
            raise

    @staticmethod
    def _forget_expired(used: Path) -> None:
        now = time.time()
        for marker in used.iterdir():
            with contextlib.suppress(OSError):
                if marker.stat().st_mtime < now:
                    marker.unlink()


class Transfers:
    """Makes upload targets and download links for the configured storage."""

    def __init__(self, settings: Settings, storage: Storage, signer: LinkSigner) -> None:
        self.settings = settings
        self.storage = storage
        self.signer = signer

    @property
    def presigned(self) -> bool:
        return isinstance(self.storage, S3Storage)

    def upload_target(
        self, user: str, content_type: str, base_url: str, original_name: str | None = None
    ) -> UploadTarget:
        ttl = self.settings.signed_url_ttl_s
        max_bytes = self.settings.upload_max_bytes
        expires_at = int(time.time()) + ttl
        if isinstance(self.storage, S3Storage):
            key = keys.upload_key(user, new_id(), UPLOAD_CONTENT_TYPES[content_type])
            post = self.storage.client.generate_presigned_post(
                Bucket=self.storage.bucket,
                Key=self.storage.prefix + key,
                Fields={"Content-Type": content_type},
                Conditions=[["content-length-range", 1, max_bytes], {"Content-Type": content_type}],
                ExpiresIn=ttl,
            )
            return UploadTarget(post["url"], dict(post["fields"]), max_bytes, content_type, expires_at, key)
        # jti: the link's one use (LinkSigner.use_once); S3's presigned POST cannot be single-use, so its
        # lifetime is what bounds it there.
        claims: dict[str, Any] = {"user": user, "ct": content_type, "max": max_bytes, "jti": secrets.token_hex(16)}
        name = sanitise_name(original_name) if original_name else None
        if name:
            claims["name"] = name  # the local upload keeps it with the image; cut, so the link stays short
        token = self.signer.sign("upload", claims, ttl)
        url = f"{base_url.rstrip('/')}/local-uploads/{token}"
        return UploadTarget(url, {"Content-Type": content_type}, max_bytes, content_type, expires_at, None)

    def download_url(self, user: str, key: str, base_url: str, filename: str | None = None) -> str:
        """An expiring link; the file downloads as ``filename`` (Content-Disposition) when given."""
        if not keys.is_under_user(key, user):
            raise LinkError("that file is not yours")
        ttl = self.settings.signed_url_ttl_s
        if isinstance(self.storage, S3Storage):
            return str(
                self.storage.client.generate_presigned_url(
                    "get_object",
                    Params={
                        "Bucket": self.storage.bucket,
                        "Key": self.storage.prefix + key,
                        "ResponseContentDisposition": content_disposition(filename),
                    },
                    ExpiresIn=ttl,
                )
            )
        claims: dict[str, Any] = {"user": user, "key": key}
        if filename:
            claims["name"] = filename
        token = self.signer.sign("download", claims, ttl)
        return f"{base_url.rstrip('/')}/downloads/{token}"
