"""On the real server (uvicorn's own access log): a used upload link's token is nowhere in the log."""

from __future__ import annotations

import pytest

from tests.conftest import encode, photo
from tests.functional.api.conftest import Connection, LiveServer
from tests.functional.workflows.states_harness import wait_for

pytestmark = [pytest.mark.functional]


def test_the_access_log_shows_the_upload_route_but_not_its_token(live_server: LiveServer) -> None:
    connection = Connection(live_server.url, live_server.token())
    sent: list[str] = []
    original = connection.send

    def recording_send(method: str, path: str, body: bytes | None = None, **headers: str):
        sent.append(path)
        return original(method, path, body, **headers)

    connection.send = recording_send  # type: ignore[method-assign]
    connection.upload(encode(photo(64)))
    (upload_path,) = [p for p in sent if p.startswith("/local-uploads/")]
    token = upload_path.removeprefix("/local-uploads/")

    wait_for(lambda: '"POST /local-uploads/… HTTP/1.1" 201' in live_server.log.read_text(), 10, "the access line")
    assert token not in live_server.log.read_text()
