"""`aiorch weights pull` and `list` against a local HTTP server (no internet here): a good file is installed,
a wrong one deleted with a clear error, a broken download resumed with a Range request, an unreachable URL
installs nothing; an entry without a published sha256 needs the user's."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from aiorch.settings import get_settings
from aiorch.weights import REGISTRY
from aiorch_local.cli import cli
from aiorch_local.weights_cli import PullError, pull
from tests.support import free_port

BODY = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(BODY).hexdigest()


class Server:
    def __init__(self) -> None:
        self.ranges: list[str | None] = []
        self.honour_range = True
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.ranges.append(self.headers.get("Range"))
                if self.path == "/missing.pt":
                    self.send_error(404, "Not Found")
                    return
                start = 0
                wanted = self.headers.get("Range")
                if wanted and server.honour_range:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    if start >= len(BODY):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(BODY) - start))
                self.end_headers()
                self.wfile.write(BODY[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[Server]:
    served = Server()
    yield served
    served.httpd.shutdown()
    served.httpd.server_close()


@pytest.fixture
def entry(server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """big-lama pointed at the local server, with the served file's sha256 as if it were the published one."""
    monkeypatch.setenv("AIORCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AIORCH_WEIGHTS_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    fake = dataclasses.replace(REGISTRY["big-lama"], url=f"{server.url}/big-lama.pt", sha256=SHA)
    monkeypatch.setitem(REGISTRY, "big-lama", fake)
    yield fake
    get_settings.cache_clear()


def test_pull_installs_a_file_whose_sha256_matches_and_list_says_so(entry, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["weights", "pull", "big-lama"])
    assert done.exit_code == 0, done.output
    installed = tmp_path / "models" / "big-lama.pt"
    assert installed.read_bytes() == BODY and not installed.with_name("big-lama.pt.part").exists()
    assert f"installed big-lama: {installed}" in done.output
    listed = runner.invoke(cli, ["weights", "list"]).output
    line = next(line for line in listed.splitlines() if line.startswith("big-lama "))
    assert "installed" in line and "1.0 MB" in line and "sha256 ok" in line


def test_a_file_with_another_sha256_is_deleted_with_a_clear_error(entry, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(REGISTRY, "big-lama", dataclasses.replace(entry, sha256="0" * 64))
    done = CliRunner().invoke(cli, ["weights", "pull", "big-lama"])
    assert done.exit_code == 1
    assert f"has sha256 {SHA}, not the expected {'0' * 64}: it was deleted" in done.output
    assert list((tmp_path / "models").iterdir()) == []


def test_a_broken_download_resumes_from_its_part_file(entry, server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "big-lama.pt.part").write_bytes(BODY[:300_000])
    assert pull(entry, folder, SHA, str(entry.url), show_progress=False).read_bytes() == BODY
    assert server.ranges == ["bytes=300000-"]


def test_a_server_that_ignores_the_range_starts_over(entry, server: Server, tmp_path: Path) -> None:
    server.honour_range = False
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "big-lama.pt.part").write_bytes(b"x" * 1000)  # not even the file's start
    assert pull(entry, folder, SHA, str(entry.url), show_progress=False).read_bytes() == BODY


def test_a_complete_part_file_is_installed_after_a_416(entry, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "big-lama.pt.part").write_bytes(BODY)
    assert pull(entry, folder, SHA, str(entry.url), show_progress=False).read_bytes() == BODY


def test_an_unreachable_url_installs_nothing_and_keeps_a_resumable_part(entry, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    dead = f"http://127.0.0.1:{free_port()}/big-lama.pt"
    with pytest.raises(PullError, match=r"could not reach .*nothing was installed$"):
        pull(entry, folder, SHA, dead, show_progress=False, timeout_s=5)
    assert not folder.exists() or list(folder.iterdir()) == []  # no byte arrived: no .part either
    folder.mkdir()
    (folder / "big-lama.pt.part").write_bytes(BODY[:10])
    with pytest.raises(PullError, match="keeps 10 bytes, and the next pull resumes there"):
        pull(entry, folder, SHA, dead, show_progress=False, timeout_s=5)
    assert (folder / "big-lama.pt.part").read_bytes() == BODY[:10] and not (folder / "big-lama.pt").exists()


def test_an_http_error_is_named(entry, server: Server, tmp_path: Path) -> None:
    with pytest.raises(PullError, match="answered HTTP 404 Not Found: nothing was installed"):
        pull(entry, tmp_path / "models", SHA, f"{server.url}/missing.pt", show_progress=False)


def test_an_entry_without_a_published_sha256_needs_the_user_s(server: Server, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIORCH_WEIGHTS_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    assert REGISTRY["drunet"].sha256 is None
    runner = CliRunner()
    refused = runner.invoke(cli, ["weights", "pull", "drunet", "--url", f"{server.url}/drunet.pth"])
    assert refused.exit_code == 1 and "pass --sha256" in refused.output and server.ranges == []
    done = runner.invoke(cli, ["weights", "pull", "drunet", "--url", f"{server.url}/d.pth", "--sha256", SHA])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "models" / "drunet_color.pth").read_bytes() == BODY
    get_settings.cache_clear()
