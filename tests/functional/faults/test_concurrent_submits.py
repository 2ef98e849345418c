"""100 submits at once by 5 users over the whole local stack as ``aiorch serve`` runs it: the API under
uvicorn, the local states service, the real Lambdas and real (warm) jobs, on the smallest image and the
cheapest operation (denoise, tv). Each submit is either accepted and its execution ends recorded
SUCCEEDED, or refused cleanly at the door: 429 (the user's running limit) or 503 (everyone's queue
bound), as problem+json with a Retry-After. Nothing is left RUNNING, in the index or in Step Functions,
and each user's next submit runs to its end. The test waits for what it checks (this machine may have
two cores): it never asserts on speed."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from aiorch.index import open_index
from aiorch.settings import Settings
from aiorch.states import states_client
from lambdas.api.auth import issue_local_token
from tests.conftest import encode, photo
from tests.functional.api.conftest import Connection
from tests.support import local_server

pytestmark = [pytest.mark.functional, pytest.mark.slow]

USERS = ["ann", "ben", "cat", "dan", "eve"]
SUBMITS = 100
RUNNING_LIMIT = 3  # per user: 5 users could start 15, past the queue bound below
QUEUED_LIMIT = 10  # images for everyone: past it a submit is 503
DEADLINE_S = 240.0  # generous: the executions share two cores with everything else on this machine


@dataclass
class Answer:
    user: str
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Stack:
    url: str
    settings: Settings


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {
        "AIORCH_MAX_RUNNING_EXECUTIONS_PER_USER": str(RUNNING_LIMIT),
        "AIORCH_MAX_QUEUED_IMAGES": str(QUEUED_LIMIT),
    }
    with local_server(tmp_path_factory.mktemp("concurrent"), "serve.log", env=env) as (url, settings, _):
        yield Stack(url, settings)


def token(stack: Stack, user: str) -> str:
    return issue_local_token(stack.settings, user)  # the server's own signing key, under its data dir


def post_submit(stack: Stack, user: str, upload: str) -> Answer:
    """One submit on a connection of its own, as a separate browser would send it."""
    parts = urlsplit(stack.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    try:
        body = json.dumps({"operation": "denoise", "upload": upload, "options": {"method": "tv"}})
        headers = {"Authorization": f"Bearer {token(stack, user)}", "Content-Type": "application/json"}
        connection.request("POST", "/image-ai-analysis", body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        return Answer(user, answer.status, {k.lower(): v for k, v in answer.getheaders()}, json.loads(data))
    finally:
        connection.close()


def ended(stack: Stack, user: str, execution_id: str) -> dict[str, Any]:
    # A connection of its own: the server closes one left idle past its keep-alive time (uvicorn: 5 s).
    connection = Connection(stack.url, token(stack, user))
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        status, view = connection.send("GET", f"/image-ai-analysis/{execution_id}")
        assert status == 200, view
        if view["status"] != "RUNNING":
            return dict(view)
        time.sleep(0.5)
    pytest.fail(f"execution {execution_id} still RUNNING after {DEADLINE_S:.0f} s: {view}")


def test_100_concurrent_submits_by_5_users_each_end_recorded_or_are_refused_cleanly(stack: Stack) -> None:
    uploads = {user: Connection(stack.url, token(stack, user)).upload(encode(photo(32))) for user in USERS}
    answers: list[Answer] = []
    errors: list[BaseException] = []
    start = threading.Barrier(SUBMITS)

    def client(user: str) -> None:
        try:
            start.wait(timeout=60)
            answers.append(post_submit(stack, user, uploads[user]))
        except BaseException as exc:  # reported below: a thread's exception would vanish
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(USERS[i % len(USERS)],)) for i in range(SUBMITS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert len(answers) == SUBMITS

    accepted = [a for a in answers if a.status == 202]
    refused = [a for a in answers if a.status != 202]
    assert {a.status for a in refused} <= {429, 503}, [
        (a.status, a.body) for a in refused if a.status not in (429, 503)
    ]
    assert accepted and refused  # the bounds were reached: admission really refused some
    for answer in refused:
        assert answer.headers["content-type"] == "application/problem+json", answer.headers
        assert int(answer.headers["retry-after"]) >= 1, answer.headers
        assert answer.body["status"] == answer.status and answer.body["detail"], answer.body

    for answer in accepted:
        view = ended(stack, answer.user, answer.body["execution_id"])
        assert view["status"] == "SUCCEEDED", view

    # Nothing left RUNNING anywhere: the index's counters and Step Functions agree.
    index = open_index(stack.settings)
    assert not list(index.running())
    assert all(index.running_count(user) == 0 for user in USERS)
    states = states_client(stack.settings)
    running = states.list_executions(stateMachineArn=stack.settings.resolved_state_machine_arn, statusFilter="RUNNING")
    assert running["executions"] == []
    for user in USERS:
        _, page = Connection(stack.url, token(stack, user)).send("GET", "/image-ai-analysis?limit=100")
        assert not [e for e in page["items"] if e["status"] == "RUNNING"], page["items"]

    # And the door is open again: each user's next submit runs to its end.
    again = [post_submit(stack, user, uploads[user]) for user in USERS]
    assert [a.status for a in again] == [202] * len(USERS), [a.body for a in again]
    for answer in again:
        assert ended(stack, answer.user, answer.body["execution_id"])["status"] == "SUCCEEDED"
