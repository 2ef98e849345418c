"""The real server cuts a chunked upload at its limit as it streams: 413, its memory flat, the
connection's answer a problem, never a read of the whole body."""

from __future__ import annotations

import contextlib
import http.client
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.functional.api.conftest import LiveServer
from tests.unit.api.test_body_limit import chunked_form

pytestmark = [pytest.mark.functional, pytest.mark.slow]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_chunked_400_mb_upload_is_refused_with_the_servers_memory_flat(live_server: LiveServer) -> None:
    serve_pid = int(json.loads((live_server.settings.data_dir / "states" / "serve.json").read_text())["pid"])
    status, _, body = live_server.request(
        "POST", "/uploads", json.dumps({"content_type": "image/png"}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {live_server.token()}"},
    )  # fmt: skip
    assert status == 201, body
    target = json.loads(body)
    sent = [0]
    form, content_type = chunked_form(target["fields"], 400 * 2**20, sent)
    with contextlib.suppress(OSError):
        Path(f"/proc/{serve_pid}/clear_refs").write_text("5")  # the server's VmHWM from here on
    before = peak_rss_mb(serve_pid)

    parts = urlsplit(target["url"])
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    # http.client sends an iterable body chunked (Transfer-Encoding: chunked, no Content-Length).
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the server may stop reading early
        connection.request("POST", parts.path, body=form, headers={"Content-Type": content_type})
    answer = connection.getresponse()
    detail = json.loads(answer.read())["detail"]

    grown = peak_rss_mb(serve_pid) - before
    assert answer.status == 413, detail
    assert f"{live_server.settings.upload_max_bytes} bytes" in detail
    assert grown < 20, f"the server's peak resident memory grew {grown:.0f} MB"
