"""The live local server under faults, each on one keep-alive connection that must keep serving (no
reset, no close): hostile fields (a number of 400 digits, a key of 1,000 characters, a NUL byte) and
keys of the wrong kind (an upload's name.json as the image, a mask on denoise) answer 4xx problem+json
and the next request on the same connection is served; while the states service is dead, a status poll
still answers from the execution index (it reads no Step Functions API), the events answer 503 with
the reason, never 500; the supervisor then brings the service back and the server is ready again."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import encode, photo
from tests.functional.api.conftest import Connection, LiveServer
from tests.functional.workflows.states_harness import wait_for
from workflows.local.client import pid_alive, service_pid

pytestmark = [pytest.mark.functional, pytest.mark.slow]

EVENTS_DOWN = "the state history cannot be read now"
JSON = {"Content-Type": "application/json"}


def submit_raw(connection: Connection, body: str) -> tuple[int, Any]:
    return connection.send("POST", "/image-ai-analysis", body.encode(), **JSON)


def test_each_hostile_field_is_a_4xx_and_the_same_connection_serves_the_next_request(
    live_server: LiveServer,
) -> None:
    connection = Connection(live_server.url, live_server.token())
    image = connection.upload(encode(photo(64)))
    user_prefix = "/".join(image.split("/")[:2]) + "/"
    long_key = user_prefix + "a" * (1000 - len(user_prefix))
    hostile = {
        "an option of 400 digits": '{"operation": "upscale", "upload": "'
        + image
        + '", "options": {"tile": 1'
        + "0" * 400
        + "}}",
        "an upload key of 1,000 characters": json.dumps({"operation": "upscale", "upload": long_key}),
        "an upload key with a NUL byte": json.dumps(
            {"operation": "upscale", "upload": user_prefix + "x\x00/original.png"}
        ),
        "a mask key with a NUL byte": json.dumps(
            {"operation": "inpaint", "upload": image, "mask": user_prefix + "x\x00/original.png"}
        ),
    }
    socket = None
    for case, body in hostile.items():
        status, problem = submit_raw(connection, body)
        assert 400 <= status < 500, (case, status, problem)
        assert isinstance(problem, dict) and problem["status"] == status and problem["detail"], (case, problem)
        socket = socket or connection.http.sock
        # The same connection: http.client would reconnect silently, so a new socket means a reset or close.
        listed, page = connection.send("GET", "/image-ai-analysis")
        assert listed == 200 and "items" in page, (case, listed, page)
        assert connection.http.sock is socket, f"the server closed or reset the connection after {case}"


def test_keys_of_the_wrong_kind_are_refused_at_submit_on_the_same_connection(live_server: LiveServer) -> None:
    connection = Connection(live_server.url, live_server.token())
    image = connection.upload(encode(photo(64)), filename="holiday.png")
    name_file = image.rsplit("/", 1)[0] + "/name.json"  # the upload's original file name, kept beside it
    assert (Path(live_server.settings.resolved_storage_url) / name_file).is_file()
    before = connection.send("GET", "/image-ai-analysis")[1]["items"]
    socket = connection.http.sock

    status, problem = submit_raw(connection, json.dumps({"operation": "denoise", "upload": name_file}))
    assert status == 422 and "is not an uploaded image" in problem["detail"], problem
    status, problem = submit_raw(connection, json.dumps({"operation": "denoise", "upload": image, "mask": image}))
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["mask"], problem
    assert "denoise takes no mask" in problem["detail"]

    assert connection.send("GET", "/image-ai-analysis")[1]["items"] == before  # nothing started
    assert connection.http.sock is socket, "the server closed or reset the connection"


def test_a_dead_states_service_is_503_with_the_reason_on_the_same_connection(live_server: LiveServer) -> None:
    connection = Connection(live_server.url, live_server.token())
    key = connection.upload(encode(photo(64)))
    request = {"operation": "denoise", "upload": key, "options": {"method": "tv"}}
    status, submitted = connection.send(
        "POST", "/image-ai-analysis", json.dumps(request).encode(), **{"Content-Type": "application/json"}
    )
    assert status == 202, submitted
    execution = submitted["execution_id"]

    pid = service_pid(live_server.settings)
    assert pid is not None and pid_alive(pid)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid), 10, "the states service to die")

    socket = connection.http.sock  # http.client reconnects silently: a new socket would mean a reset or close
    answers: dict[str, list[tuple[int, Any]]] = {"status": [], "events": []}
    paths = {"status": f"/image-ai-analysis/{execution}", "events": f"/image-ai-analysis/{execution}/events"}
    deadline = time.monotonic() + 30
    # Until the events have said 503 (the supervisor may restart the service meanwhile: then 200 is right too).
    while time.monotonic() < deadline and not any(s == 503 for s, _ in answers["events"]):
        for name, path in paths.items():
            answers[name].append(connection.send("GET", path))
    statuses = {s for s, _ in answers["status"]}
    assert statuses == {200}, statuses  # from the index: the poll needs no Step Functions read
    assert all(body["execution_id"] == execution for _, body in answers["status"])
    assert all(s in (200, 503) for s, _ in answers["events"]), answers["events"][-3:]
    down = [body for s, body in answers["events"] if s == 503]
    assert down, f"the events never answered 503 while the states service was dead: {answers['events'][-3:]}"
    assert all(EVENTS_DOWN in body["detail"] and "Could not connect" in body["detail"] for body in down), down[-1]
    assert connection.send("GET", "/healthz")[0] == 200
    assert connection.http.sock is socket, "the server closed or reset the connection"

    # The supervisor restarts the service, which records the execution it lost (INTERRUPTED); the server
    # is then ready again for the tests after this one. (Not /readyz alone: it may still answer its
    # cached "up" from before the kill.)
    wait_for(
        lambda: connection.send("GET", paths["status"])[1]["status"] != "RUNNING", 120, "the lost execution's record"
    )
    wait_for(lambda: live_server.request("GET", "/readyz")[0] == 200, 30, "the server to be ready")
