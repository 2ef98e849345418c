"""The API over the real local stack: the states service (moto's interpreter), the real Lambdas and the
real jobs as subprocesses, on small real photos."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from aiorch.settings import Settings
from aiorch.storage import open_app_storage
from lambdas.api.auth import issue_local_token
from tests.conftest import encode, photo
from tests.support import api_client, free_port, states_service_running

pytestmark = [pytest.mark.functional, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("api-stack"),
        states_port=free_port(),
        max_running_executions_per_user=2,
    )
    with states_service_running(settings):
        yield settings


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> TestClient:
    return api_client(stack_settings)


def headers_for(settings: Settings, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_local_token(settings, user)}"}


def upload(client: TestClient, headers: dict[str, str], data: bytes) -> str:
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=headers).json()
    sent = client.post(target["url"], data=target["fields"], files={"file": ("p.png", data, "image/png")})
    assert sent.status_code == 201, sent.text
    return str(sent.json()["upload"])


def submit(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    extra = {"Idempotency-Key": body.pop("key")} if "key" in body else {}
    return client.post("/image-ai-analysis", json=body, headers={**headers, **extra})


def wait_until(client: TestClient, headers: dict[str, str], execution_id: str, done: Any, timeout_s: float = 180):
    """Poll like the page does; returns (last status, every percent seen)."""
    percents: list[float] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.get(f"/image-ai-analysis/{execution_id}", headers=headers).json()
        percents.append(status["progress"]["percent"])
        if done(status):
            return status, percents
        time.sleep(0.3)
    pytest.fail(f"{execution_id} did not get there in {timeout_s} s: {status}")


def test_denoise_runs_to_a_downloadable_result(client: TestClient, stack_settings: Settings) -> None:
    alice = headers_for(stack_settings, "alice")
    key = upload(client, alice, encode(photo(64)))
    response = submit(client, alice, operation="denoise", upload=key, options={"method": "tv"}, key="run-1")
    assert response.status_code == 202
    execution_id = response.json()["execution_id"]
    again = submit(client, alice, operation="denoise", upload=key, options={"method": "tv"}, key="run-1")
    assert again.json()["execution_id"] == execution_id

    status, percents = wait_until(client, alice, execution_id, lambda s: s["status"] != "RUNNING")
    assert status["status"] == "SUCCEEDED", status
    assert percents == sorted(percents) and percents[-1] == 100
    assert status["metadata"]["denoise"]["weights"] == "fallback: tv"
    (result,) = [r for r in status["results"] if r["job"] == "denoise"]
    with Image.open(io.BytesIO(client.get(result["url"]).content)) as image:
        assert image.size == (64, 64)

    events = client.get(f"/image-ai-analysis/{execution_id}/events", headers=alice).json()["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered[:1] == ["ValidateInput"] and "Denoise" in entered and "RecordResult" in entered
    listed = client.get("/image-ai-analysis", headers=alice).json()["items"]
    assert [e["execution_id"] for e in listed] == [execution_id]
    bob = headers_for(stack_settings, "bob")
    assert client.get(f"/image-ai-analysis/{execution_id}", headers=bob).status_code == 404


def test_a_failing_job_reports_why_in_plain_words(client: TestClient, stack_settings: Settings) -> None:
    carol = headers_for(stack_settings, "carol")
    key = upload(client, carol, encode(photo(48)))
    # DRUNet without its weights is refused at submit (422, with `aiorch weights pull drunet`): a job that
    # fails is one that finds out only when it runs, as fp16 for a classical method does.
    refused = submit(client, carol, operation="denoise", upload=key, options={"method": "drunet"})
    assert refused.status_code == 422 and "aiorch weights pull drunet" in refused.json()["detail"]
    options = {"method": "tv", "precision": "fp16"}
    execution_id = submit(client, carol, operation="denoise", upload=key, options=options).json()["execution_id"]
    status, _ = wait_until(client, carol, execution_id, lambda s: s["status"] != "RUNNING" and s["error"])
    assert status["status"] == "FAILED"
    assert "must be auto or fp32 for tv (a classical method)" in status["error"]["message"]


def test_running_limit_and_cancel(client: TestClient, stack_settings: Settings) -> None:
    dave = headers_for(stack_settings, "dave")
    key = upload(client, dave, encode(photo(256)))  # x4plus on 256 px takes a while on a CPU
    first, second = (submit(client, dave, operation="upscale", upload=key).json()["execution_id"] for _ in range(2))
    refused = submit(client, dave, operation="upscale", upload=key)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "limit is 2" in refused.json()["detail"]

    # A running execution is not deleted: it is cancelled first.
    still_running = client.delete(f"/image-ai-analysis/{first}", headers=dave)
    assert still_running.status_code == 409, still_running.text
    assert "cancel it first" in still_running.json()["detail"]

    for execution_id in (first, second):
        assert client.post(f"/image-ai-analysis/{execution_id}/cancel", headers=dave).status_code == 200
    for execution_id in (first, second):
        status, _ = wait_until(client, dave, execution_id, lambda s: s["status"] != "RUNNING", timeout_s=60)
        assert status["status"] == "ABORTED"

    # Deleted from the history, an ended execution is gone: its record, its files, its events.
    assert client.delete(f"/image-ai-analysis/{first}", headers=dave).status_code == 204
    assert list(open_app_storage(stack_settings).list(f"results/dave/{first}/")) == []
    assert client.get(f"/image-ai-analysis/{first}", headers=dave).status_code == 404
    assert client.get(f"/image-ai-analysis/{first}/events", headers=dave).status_code == 404
    assert client.delete(f"/image-ai-analysis/{first}", headers=dave).status_code == 404
    listed = [e["execution_id"] for e in client.get("/image-ai-analysis", headers=dave).json()["items"]]
    assert first not in listed and second in listed


def test_delete_right_after_cancel_waits_for_the_cancel_to_be_recorded(
    client: TestClient, stack_settings: Settings
) -> None:
    erin = headers_for(stack_settings, "erin")
    key = upload(client, erin, encode(photo(256)))  # x4plus on 256 px: still upscaling when cancelled
    execution_id = submit(client, erin, operation="upscale", upload=key).json()["execution_id"]
    # Cancelled while its job runs (the workflow then waits on the job's poll), as a user would.
    wait_until(client, erin, execution_id, lambda s: s["current_state"] == "Upscale", timeout_s=60)

    cancelled = client.post(f"/image-ai-analysis/{execution_id}/cancel", headers=erin)
    assert cancelled.status_code == 200, cancelled.text
    # At once, without polling: the DELETE waits for the end to be recorded instead of answering 409.
    deleted = client.delete(f"/image-ai-analysis/{execution_id}", headers=erin)
    assert deleted.status_code == 204, deleted.text
    assert cancelled.json()["status"] == "ABORTED"  # the cancel's answer says it is stopped, as in AWS
    assert client.get(f"/image-ai-analysis/{execution_id}", headers=erin).status_code == 404
    assert list(open_app_storage(stack_settings).list(f"results/erin/{execution_id}/")) == []
