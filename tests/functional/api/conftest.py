"""The real local server (``python -m aiorch_local.server``, as ``aiorch serve`` runs it) on free ports
with a temporary data dir: the API under uvicorn, the built front end when there is one, and the local
states service it starts and supervises."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aiorch.settings import Settings
from tests.support import local_server

REPO = Path(__file__).resolve().parents[3]


class Connection:
    """One keep-alive HTTP/1.1 connection: a reset would raise here instead of answering."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.http = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        self.auth = {"Authorization": f"Bearer {token}"}

    def send(self, method: str, path: str, body: bytes | None = None, **headers: str) -> tuple[int, Any]:
        self.http.request(method, path, body=body, headers={**self.auth, **headers})
        answer = self.http.getresponse()
        data = answer.read()
        kind = answer.getheader("content-type") or ""
        return answer.status, json.loads(data) if "json" in kind else data

    def upload(self, data: bytes, filename: str | None = None) -> str:
        """The new upload's key; ``filename``: the file's own name, which the upload keeps beside it."""
        request = {"content_type": "image/png"} | ({"filename": filename} if filename else {})
        _, target = self.send(
            "POST",
            "/uploads",
            json.dumps(request).encode(),
            **{"Content-Type": "application/json"},
        )
        boundary = uuid.uuid4().hex
        form = b"".join(
            [
                f'--{boundary}\r\nContent-Disposition: form-data; name="Content-Type"\r\n\r\nimage/png\r\n'.encode(),
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n'.encode(),
                b"Content-Type: image/png\r\n\r\n" + data + b"\r\n",
                f"--{boundary}--\r\n".encode(),
            ]
        )
        status, body = self.send(
            "POST",
            urlsplit(target["url"]).path,
            form,
            **{"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert status == 201, body
        return str(body["upload"])


@dataclass
class LiveServer:
    url: str
    settings: Settings
    log: Path

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One plain HTTP request (urllib); any status comes back, never raised."""
        call = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(call, timeout=30) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as refused:
            return refused.code, dict(refused.headers), refused.read()

    def token(self) -> str:
        """The local user's token, fetched as the SPA does on loopback (GET /authorize)."""
        status, _, body = self.request("GET", "/authorize")
        assert status == 200, body
        return str(json.loads(body)["access_token"])


@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with local_server(tmp_path_factory.mktemp("live-api"), "serve.log") as (url, settings, log):
        yield LiveServer(url, settings, log)
