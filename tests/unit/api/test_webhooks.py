"""Webhooks (Standard Webhooks): a run delivers `completed`, signed so that an independent check of the
spec accepts it; a failing receiver is retried with backoff (injected clock, no sleeping); URLs that
reach private addresses are refused at submit and again at delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aiorch.contracts import AnalysisRequest, ExecutionStatus, Outcome
from aiorch.settings import Settings
from aiorch.storage import Storage
from aiorch.webhooks import SecretStore, WebhookRefused, Webhooks, check_url
from lambdas.records import record_outcome


class Receiver:
    """A local HTTP receiver: keeps each request, answers each with the next of ``answers`` (then 200)."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks' verification, written from the spec (not through aiorch.webhooks)."""
    lower = {k.lower(): v for k, v in headers.items()}
    key = base64.b64decode(secret.split("_", 1)[1])
    content = f"{lower['webhook-id']}.{lower['webhook-timestamp']}.{body.decode()}"
    expected = base64.b64encode(hmac.new(key, content.encode(), hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, _, signature in (part.partition(",") for part in lower["webhook-signature"].split(" "))
    )


def submit(client, headers, upload_key: str, webhook: dict[str, Any] | None) -> Any:
    body: dict[str, Any] = {"operation": "upscale", "upload": upload_key, "options": {}}
    if webhook is not None:
        body["webhook"] = webhook
    return client.post("/image-ai-analysis", json=body, headers=headers)


def finish(storage: Storage, user: str, execution_id: str, upload_key: str) -> None:
    """RecordResult's part: the execution's end recorded (as the recorder Lambdas do)."""
    request = AnalysisRequest(execution_id=execution_id, user=user, operation="upscale", input_key=upload_key)
    result = f"results/{user}/{execution_id}/upscale/result.png"
    storage.put_bytes(result, b"png")
    record_outcome(
        storage, request, ExecutionStatus.SUCCEEDED, recorded_by="RecordResult", started_at=None, result_keys=[result]
    )


def test_a_run_with_a_webhook_delivers_completed_signed_with_the_users_secret(
    client, alice, bob, upload, photo_png, service, receiver
) -> None:
    secret = client.get("/webhooks/secret", headers=alice).json()["secret"]
    assert secret.startswith("whsec_")
    assert client.get("/webhooks/secret", headers=alice).json()["secret"] == secret  # created once
    key = upload(alice, photo_png)
    answer = submit(client, alice, key, {"url": receiver.url, "events": ["completed"]})
    assert answer.status_code == 202, answer.text
    execution_id = answer.json()["execution_id"]
    assert receiver.received == []

    finish(service.storage, "alice", execution_id, key)

    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert verify(secret, got["headers"], got["body"])
    assert not verify(secret.replace(secret[8], "A" if secret[8] != "A" else "B"), got["headers"], got["body"])
    event = json.loads(got["body"])
    assert event["type"] == "execution.completed"
    assert event["data"]["execution_id"] == execution_id
    assert event["data"]["status"] == "SUCCEEDED"
    assert event["data"]["results"][0]["key"].endswith("/upscale/result.png")
    assert event["data"]["links"]["self"].endswith(f"/image-ai-analysis/{execution_id}")

    deliveries = client.get(f"/image-ai-analysis/{execution_id}/webhook-deliveries", headers=alice).json()
    assert [(d["status_code"], d["outcome"]) for d in deliveries["deliveries"]] == [(200, "delivered")]
    # another user sees no such execution
    assert client.get(f"/image-ai-analysis/{execution_id}/webhook-deliveries", headers=bob).status_code == 404


def test_a_rotated_secret_signs_from_then_on(client, alice) -> None:
    first = client.get("/webhooks/secret", headers=alice).json()["secret"]
    rotated = client.post("/webhooks/secret/rotate", headers=alice).json()["secret"]
    assert rotated != first and rotated.startswith("whsec_")
    assert client.get("/webhooks/secret", headers=alice).json()["secret"] == rotated


def test_the_local_secret_file_is_readable_by_its_owner_only(settings: Settings, storage: Storage) -> None:
    SecretStore(settings, storage).get("alice")
    mode = (settings.data_dir / "webhooks" / "alice.json").stat().st_mode & 0o777
    assert mode == 0o600


def test_a_receiver_answering_500_twice_gets_the_third_retry(
    client, alice, upload, photo_png, service, settings: Settings, storage: Storage
) -> None:
    flaky = Receiver(answers=[500, 500])
    try:
        now = [1_000_000.0]
        hooks = Webhooks(settings, storage, clock=lambda: now[0])
        key = upload(alice, photo_png)
        execution_id = submit(client, alice, key, {"url": flaky.url}).json()["execution_id"]
        record, _ = service.index.finalise(
            "alice", execution_id, Outcome(status=ExecutionStatus.FAILED, recorded_by="test")
        )
        hooks.completed(record)  # queued, and its first attempt made at once: 500
        assert len(flaky.received) == 1

        now[0] += 0.9
        assert hooks.deliver_due() == 0  # the first retry waits 1 s
        now[0] += 0.2
        assert hooks.deliver_due() == 1 and len(flaky.received) == 2  # the second attempt: 500
        now[0] += 1.5
        assert hooks.deliver_due() == 0  # then 2 s
        now[0] += 0.6
        assert hooks.deliver_due() == 1 and len(flaky.received) == 3  # the third attempt: 200
        now[0] += 3600
        assert hooks.deliver_due() == 0  # delivered: nothing left to send

        ids = {r["headers"]["webhook-id"] for r in flaky.received}
        assert len(ids) == 1  # one message, retried under its id
        attempts = client.get(f"/image-ai-analysis/{execution_id}/webhook-deliveries", headers=alice).json()
        assert [(d["attempt"], d["status_code"], d["outcome"]) for d in attempts["deliveries"]] == [
            (1, 500, "will retry"),
            (2, 500, "will retry"),
            (3, 200, "delivered"),
        ]
    finally:
        flaky.close()


def test_backoff_doubles_up_to_an_hour_and_gives_up_after_a_day(settings: Settings, storage: Storage) -> None:
    now = [0.0]
    sent: list[float] = []

    def refuse(url: str, headers: dict[str, str], body: bytes, address: str) -> int:
        sent.append(now[0])
        raise ConnectionRefusedError("nobody there")

    hooks = Webhooks(settings, storage, clock=lambda: now[0], send=refuse, resolver=lambda h, p: ["93.184.216.34"])
    hooks.subscribe("alice", "01JEXEC", "https://hooks.example.com/x", ["completed"], {})
    storage.put_json("results/alice/01JEXEC/upscale/metadata.json", {})
    assert hooks.enqueue("alice", "01JEXEC", "completed", {"status": "FAILED"})
    while hooks.deliver_due() or now[0] < 30 * 3600:
        now[0] += 1.0 if now[0] < 600 else 60.0
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert gaps[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert max(gaps) <= 3600 + 60 and max(gaps) >= 3600
    assert sent[-1] <= 24 * 3600
    outcomes = [d["outcome"] for d in hooks.deliveries("alice", "01JEXEC")]
    assert outcomes[-1] == "gave up" and outcomes.count("gave up") == 1
    assert all(d["error"].startswith("ConnectionRefusedError") for d in hooks.deliveries("alice", "01JEXEC"))


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.1.2.3]/hook",
        "ftp://example.com/hook",
        "http://example.com/hook",
    ],
)
def test_a_private_address_url_is_refused_at_submit(client, alice, upload, photo_png, states, url) -> None:
    key = upload(alice, photo_png)
    answer = submit(client, alice, key, {"url": url})
    assert answer.status_code == 422, answer.text  # well formed, but its address cannot be used
    assert "webhook" in answer.json()["detail"]
    assert states.started == []  # nothing started


def test_in_aws_only_https_to_public_addresses() -> None:
    public = lambda host, port: ["93.184.216.34"]  # noqa: E731
    assert check_url("https://hooks.example.com/x", local=False, resolver=public)[2] == ["93.184.216.34"]
    for url in ("http://hooks.example.com/x", "https://127.0.0.1/x", "https://localhost/x"):
        with pytest.raises(WebhookRefused):
            check_url(url, local=False, resolver=lambda h, p: ["127.0.0.1"] if h == "localhost" else public(h, p))
    with pytest.raises(WebhookRefused):  # a name resolving to a private address
        check_url("https://inside.example.com/x", local=False, resolver=lambda h, p: ["10.0.0.7"])


def test_delivery_checks_the_address_again_dns_rebinding(settings: Settings, storage: Storage) -> None:
    answers = iter([["93.184.216.34"], ["10.0.0.7"]])  # public at submit, private at delivery
    sent: list[str] = []

    def send(url: str, headers: dict[str, str], body: bytes, address: str) -> int:
        sent.append(address)
        return 200

    hooks = Webhooks(settings, storage, resolver=lambda h, p: next(answers), send=send)
    hooks.check("https://rebind.example.com/x")
    hooks.subscribe("alice", "01JREBIND", "https://rebind.example.com/x", ["completed"], {})
    hooks.enqueue("alice", "01JREBIND", "completed", {"status": "SUCCEEDED"})
    hooks.deliver_due()
    assert sent == []
    (attempt,) = hooks.deliveries("alice", "01JREBIND")
    assert attempt["error"].startswith("refused:") and "private" in attempt["error"]


def test_progress_is_sent_at_most_once_every_5_s(settings: Settings, storage: Storage) -> None:
    now = [100.0]
    hooks = Webhooks(settings, storage, clock=lambda: now[0])
    hooks.subscribe("alice", "01JPROG", "http://127.0.0.1:9/x", ["progress"], {})
    assert hooks.progress("alice", "01JPROG", {"percent": 10.0})
    now[0] += 4.9
    assert hooks.progress("alice", "01JPROG", {"percent": 20.0}) is None
    now[0] += 0.2
    assert hooks.progress("alice", "01JPROG", {"percent": 30.0})
    now[0] += 10
    assert hooks.progress("alice", "01JPROG", {"percent": 30.0}) is None  # unchanged: nothing new to say


def test_the_delivery_loop_sends_progress_of_a_followed_run_until_it_ends(
    client, alice, upload, photo_png, service, settings: Settings, storage: Storage, receiver
) -> None:
    from aiorch.webhooks import pump

    key = upload(alice, photo_png)
    execution_id = submit(client, alice, key, {"url": receiver.url, "events": ["started", "progress"]}).json()[
        "execution_id"
    ]
    storage.put_json(f"results/alice/{execution_id}/upscale/progress.json", {"stage": "upscale", "done": 3, "total": 8})
    pump(settings, storage, service.index)
    events = [json.loads(r["body"]) for r in receiver.received]
    assert [e["type"] for e in events] == ["execution.started", "execution.progress"]
    assert events[1]["data"] | {"links": None} == {
        "execution_id": execution_id,
        "job": "upscale",
        "stage": "upscale",
        "done": 3,
        "total": 8,
        "links": None,
    }
    service.index.finalise("alice", execution_id, Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="test"))
    pump(settings, storage, service.index)
    assert list(storage.list("webhooks/following/")) == []  # ended: no longer followed
