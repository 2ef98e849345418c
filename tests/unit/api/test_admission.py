"""Admission and back-pressure: a bound on queued images, the user's (429) and everyone's (503), with
Retry-After and plain words in problem+json; a finished execution frees its room."""

from __future__ import annotations

from fastapi.testclient import TestClient

from aiorch.analysis import AnalysisService
from aiorch.contracts import ExecutionStatus, Outcome
from lambdas.api.app import create_app
from tests.unit.api.test_routes import assert_problem


def client_for(settings, states, **bounds) -> tuple[AnalysisService, TestClient]:
    bounded = settings.model_copy(
        update={"max_running_executions_per_user": 100, "queue_seconds_per_image": 60, "job_slots": 1, **bounds}
    )
    service = AnalysisService(bounded, states_client=states)
    return service, TestClient(create_app(bounded, service))


def send(client: TestClient, headers: dict[str, str], keys: list[str]):
    body = {"operation": "upscale", "uploads": keys} if len(keys) > 1 else {"operation": "upscale", "upload": keys[0]}
    return client.post("/image-ai-analysis", json=body, headers=headers)


def test_past_the_users_bound_a_submit_answers_429_in_plain_words(settings, states, alice, bob, photo_png) -> None:
    service, client = client_for(settings, states, max_queued_images_per_user=3)
    key = service.store_upload("alice", photo_png).key
    first = send(client, alice, [key, key])  # a batch: two images
    assert first.status_code == 202
    response = send(client, alice, [key, key])  # 2 + 2 > 3
    body = assert_problem(response, 429, "the queue is full")
    assert "2 images queued" in body["detail"] and "about 2 minutes of work ahead" in body["detail"]
    assert response.headers["retry-after"] == str(body["retry_after_s"]) and body["retry_after_s"] >= 10
    assert service.index.queued_images("alice") == 2  # nothing was written for the refused one
    assert send(client, alice, [key]).status_code == 202  # 2 + 1 fits
    # Another user's bound is their own.
    assert send(client, bob, [service.store_upload("bob", photo_png).key]).status_code == 202

    # A finished execution frees its images.
    service.index.finalise(
        "alice", first.json()["execution_id"], Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="RecordResult")
    )
    assert service.index.queued_images("alice") == 1
    assert send(client, alice, [key, key]).status_code == 202


def test_past_everyones_bound_a_submit_answers_503_with_retry_after(settings, states, alice, bob, photo_png) -> None:
    service, client = client_for(settings, states, max_queued_images=2)
    key = service.store_upload("alice", photo_png).key
    assert send(client, alice, [key, key]).status_code == 202
    response = send(client, bob, [service.store_upload("bob", photo_png).key])
    body = assert_problem(response, 503, "the queue is full: 2 images are queued")
    assert "about 2 minutes of work ahead" in body["detail"]
    assert int(response.headers["retry-after"]) == body["retry_after_s"] >= 10
    assert service.index.queued_images() == 2


def test_zero_is_unlimited(settings, states, alice, photo_png) -> None:
    service, client = client_for(settings, states)
    key = service.store_upload("alice", photo_png).key
    for _ in range(5):
        assert send(client, alice, [key, key, key]).status_code == 202
    assert service.index.queued_images("alice") == 15 and service.index.queued_images() == 15


def test_the_sweep_sets_the_queued_images_right(settings, states, alice, photo_png) -> None:
    service, client = client_for(settings, states)
    key = service.store_upload("alice", photo_png).key
    assert send(client, alice, [key, key]).status_code == 202
    with service.index._write() as db:  # type: ignore[attr-defined]  # SQLite: a counter gone wrong
        db.execute("UPDATE queued_images SET images = 40")
    service.index.sweep()
    assert service.index.queued_images("alice") == 2 and service.index.queued_images() == 2
