"""Over the local stack (the states service, its watchdog, jobs as subprocesses): a run with a webhook
delivers `started` and `completed` to a local receiver, signed so an independent check of the spec
accepts it, and a failed run's one-click retry runs again, linked both ways."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from aiorch.settings import Settings
from tests.conftest import encode, photo
from tests.functional.api.test_api_over_local_stack import (  # noqa: F401  (the fixtures)
    client,
    headers_for,
    stack_settings,
    submit,
    upload,
    wait_until,
)
from tests.unit.api.test_webhooks import Receiver, verify

pytestmark = [pytest.mark.functional, pytest.mark.slow]


def test_a_webhook_gets_started_and_completed_and_a_failed_run_is_retried(
    client: TestClient,  # noqa: F811
    stack_settings: Settings,  # noqa: F811
) -> None:
    dave = headers_for(stack_settings, "dave")
    secret = client.get("/webhooks/secret", headers=dave).json()["secret"]
    receiver = Receiver()
    try:
        key = upload(client, dave, encode(photo(48)))
        webhook = {"url": receiver.url, "events": ["started", "completed"]}
        answer = submit(client, dave, operation="denoise", upload=key, options={"method": "tv"}, webhook=webhook)
        assert answer.status_code == 202, answer.text
        execution_id = answer.json()["execution_id"]
        status, _ = wait_until(client, dave, execution_id, lambda s: s["status"] != "RUNNING")
        assert status["status"] == "SUCCEEDED", status
        deadline = time.monotonic() + 30
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        events = [json.loads(r["body"]) for r in receiver.received]
        assert [e["type"] for e in events] == ["execution.started", "execution.completed"]
        assert all(verify(secret, r["headers"], r["body"]) for r in receiver.received)
        assert events[1]["data"]["status"] == "SUCCEEDED" and events[1]["data"]["results"]
        shown = client.get(f"/image-ai-analysis/{execution_id}/webhook-deliveries", headers=dave).json()
        assert [d["outcome"] for d in shown["deliveries"]] == ["delivered", "delivered"]
    finally:
        receiver.close()

    options = {"method": "tv", "precision": "fp16"}  # fails when its job runs
    failed = submit(client, dave, operation="denoise", upload=key, options=options).json()["execution_id"]
    wait_until(client, dave, failed, lambda s: s["status"] != "RUNNING")
    retried = client.post(f"/image-ai-analysis/{failed}/retry", headers=dave)
    assert retried.status_code == 202, retried.text
    again = retried.json()["execution_id"]
    status, _ = wait_until(client, dave, again, lambda s: s["status"] != "RUNNING")
    assert status["status"] == "FAILED" and status["retry_of"] == failed and status["options"] == options
    assert client.get(f"/image-ai-analysis/{failed}", headers=dave).json()["retried_by"] == [again]
