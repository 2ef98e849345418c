"""The /image-ai-analysis routes: uploads, submit with idempotency, status, history, cancel, downloads,
per-user isolation, the running limit and validation errors as problem details."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from aiorch import keys
from aiorch.analysis import AnalysisService
from aiorch.contracts import ExecutionStatus, Outcome
from aiorch.settings import Settings
from lambdas.api.app import create_app
from tests.conftest import encode, photo


def submit(client: TestClient, headers: dict[str, str], upload_key: str, key: str | None = None, **body: Any):
    extra = {"Idempotency-Key": key} if key else {}
    payload = {"operation": "upscale", "upload": upload_key, "options": {}, **body}
    return client.post("/image-ai-analysis", json=payload, headers={**headers, **extra})


def assert_problem(response: Any, status: int, words: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and words in body["detail"]
    return dict(body)


# --- uploads ---------------------------------------------------------------------------------------


def test_upload_stores_the_image_under_the_users_prefix(client, alice, upload, photo_png, service) -> None:
    key = upload(alice, photo_png)
    assert key.startswith("uploads/alice/") and key.endswith("/original.png")
    assert service.storage.get_bytes(key) == photo_png


def test_upload_target_carries_its_limits(client, alice, settings: Settings) -> None:
    target = client.post("/uploads", json={"content_type": "image/jpeg"}, headers=alice).json()
    assert "/local-uploads/" in target["url"]
    assert target["fields"] == {"Content-Type": "image/jpeg"}
    assert target["max_bytes"] == settings.upload_max_bytes
    assert target["expires_at"] > time.time()


def test_upload_target_refuses_other_types(client, alice) -> None:
    refused = assert_problem(client.post("/uploads", json={"content_type": "text/html"}, headers=alice), 415)
    assert "'text/html' cannot be uploaded" in refused["detail"] and "image/png" in refused["detail"]


def test_upload_link_refuses_another_content_type(client, alice, photo_png) -> None:
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=alice).json()
    sent = client.post(
        target["url"], data={"Content-Type": "image/jpeg"}, files={"file": ("x", photo_png, "image/jpeg")}
    )
    assert_problem(sent, 403, "image/png only")


def test_upload_link_refuses_too_many_bytes(settings: Settings, service, alice, photo_png) -> None:
    small = settings.model_copy(update={"upload_max_bytes": 100})
    client = TestClient(create_app(small, service))
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=alice).json()
    sent = client.post(target["url"], data=target["fields"], files={"file": ("x", photo_png, "image/png")})
    assert_problem(sent, 413, "limit is 100 bytes")


def test_an_oversized_upload_is_refused_before_its_body_is_read(settings: Settings, service, alice) -> None:
    small = settings.model_copy(update={"upload_max_bytes": 1000})
    client = TestClient(create_app(small, service))
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=alice).json()
    form = {"Content-Type": "multipart/form-data; boundary=b"}
    sent = client.post(target["url"], content=b"x" * 200_000, headers=form)
    assert_problem(sent, 413, "the limit is 1000 bytes")


def test_upload_link_refuses_a_file_that_is_not_an_image(client, alice) -> None:
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=alice).json()
    sent = client.post(target["url"], data=target["fields"], files={"file": ("x", b"hello", "image/png")})
    assert_problem(sent, 400, "not an image")


def test_upload_link_refuses_a_tampered_token(client, alice, photo_png) -> None:
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=alice).json()
    url = target["url"][:-3] + ("aaa" if not target["url"].endswith("aaa") else "bbb")
    sent = client.post(url, data=target["fields"], files={"file": ("x", photo_png, "image/png")})
    assert_problem(sent, 403, "not valid")


def test_upload_link_expires(settings: Settings, service, alice, photo_png) -> None:
    client = TestClient(create_app(settings.model_copy(update={"signed_url_ttl_s": 1}), service))
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=alice).json()
    time.sleep(2.1)
    sent = client.post(target["url"], data=target["fields"], files={"file": ("x", photo_png, "image/png")})
    assert_problem(sent, 403, "expired")


# --- submit, status, idempotency -------------------------------------------------------------------


def test_submit_answers_202_with_the_execution(client, alice, upload, photo_png, states) -> None:
    response = submit(client, alice, upload(alice, photo_png))
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "RUNNING" and body["operation"] == "upscale"
    assert response.headers["location"].endswith(f"/image-ai-analysis/{body['execution_id']}")
    assert len(states.executions) == 1

    status = client.get(f"/image-ai-analysis/{body['execution_id']}", headers=alice).json()
    assert status["status"] == "RUNNING"
    assert status["current_state"] == "ValidateInput"
    assert 0 <= status["progress"]["percent"] < 100
    assert status["input_url"]
    original = client.get(status["input_url"])
    assert original.status_code == 200 and original.headers["content-type"] == "image/png"


def test_the_same_idempotency_key_returns_the_same_execution(client, alice, upload, photo_png, states) -> None:
    key = upload(alice, photo_png)
    first = submit(client, alice, key, key="retry-1")
    second = submit(client, alice, key, key="retry-1")
    assert first.status_code == second.status_code == 202
    assert first.json()["execution_id"] == second.json()["execution_id"]
    assert len(states.executions) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(client, alice, upload, photo_png) -> None:
    key = upload(alice, photo_png)
    assert submit(client, alice, key, key="retry-2").status_code == 202
    assert_problem(submit(client, alice, key, key="retry-2", operation="denoise"), 409, "different request")


def test_idempotency_keys_are_per_user(client, alice, bob, upload, photo_png) -> None:
    first = submit(client, alice, upload(alice, photo_png), key="same")
    second = submit(client, bob, upload(bob, photo_png), key="same")
    assert first.json()["execution_id"] != second.json()["execution_id"]


def test_a_malformed_idempotency_key_is_refused(client, alice, upload, photo_png) -> None:
    assert_problem(submit(client, alice, upload(alice, photo_png), key="a/b"), 422, "idempotency-key")


def test_the_running_limit_answers_429_with_retry_after(settings, states, alice, photo_png) -> None:
    limited = settings.model_copy(update={"max_running_executions_per_user": 1})
    service = AnalysisService(limited, states_client=states)
    client = TestClient(create_app(limited, service))
    upload_key = service.store_upload("alice", photo_png).key
    assert submit(client, alice, upload_key).status_code == 202
    response = submit(client, alice, upload_key)
    body = assert_problem(response, 429, "the limit is 1")
    assert body["retry_after_s"] >= 1
    assert response.headers["retry-after"] == str(body["retry_after_s"])


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"operation": "sharpen", "upload": "uploads/alice/x/original.png"}, "operation"),
        ({"operation": "upscale"}, "upload"),
        ({"operation": "upscale", "upload": "uploads/alice/x/original.png", "colour": "red"}, "colour"),
        ({"operation": "upscale", "upload": "uploads/alice/x/original.png", "options": [1]}, "options"),
        ({"operation": "upscale", "upload": ""}, "upload"),
    ],
)
def test_bad_bodies_are_422_problems_naming_the_field(client, alice, body, words) -> None:
    body = assert_problem(client.post("/image-ai-analysis", json=body, headers=alice), 422, words)
    assert body["errors"] and all({"field", "message"} <= set(e) for e in body["errors"])


def test_a_body_that_is_not_json_is_a_422_problem(client, alice) -> None:
    response = client.post(
        "/image-ai-analysis", content=b"{nope", headers={**alice, "content-type": "application/json"}
    )
    assert_problem(response, 422)


def test_an_upload_that_does_not_exist_is_404(client, alice) -> None:
    assert_problem(submit(client, alice, "uploads/alice/01J0000000000000000000000/original.png"), 404, "upload")


def test_a_path_outside_the_key_layout_is_404(client, alice) -> None:
    assert_problem(submit(client, alice, "uploads/alice/../bob/x/original.png"), 404)


def test_an_unsafe_execution_id_is_422(client, alice) -> None:
    assert_problem(client.get("/image-ai-analysis/a b", headers=alice), 422, "execution_id")


def test_a_page_size_out_of_range_is_422(client, alice) -> None:
    assert_problem(client.get("/image-ai-analysis?limit=0", headers=alice), 422, "limit")


def test_an_unknown_route_is_a_404_problem(client) -> None:
    assert_problem(client.get("/nope"), 404)


# --- isolation: another user's things look missing -------------------------------------------------


def test_another_users_upload_is_404(client, alice, bob, upload, photo_png) -> None:
    assert_problem(submit(client, bob, upload(alice, photo_png)), 404, "among your uploads")


def test_another_users_execution_is_404_everywhere(client, alice, bob, upload, photo_png) -> None:
    execution = submit(client, alice, upload(alice, photo_png)).json()["execution_id"]
    assert_problem(client.get(f"/image-ai-analysis/{execution}", headers=bob), 404)
    assert_problem(client.delete(f"/image-ai-analysis/{execution}", headers=bob), 404)
    assert_problem(client.get(f"/image-ai-analysis/{execution}/events", headers=bob), 404)
    assert client.get("/image-ai-analysis", headers=bob).json()["items"] == []
    assert client.get(f"/image-ai-analysis/{execution}", headers=alice).status_code == 200


def test_a_download_link_for_another_users_key_cannot_be_made(client, service, settings) -> None:
    from lambdas.api.transfers import LinkError, LinkSigner, Transfers

    transfers = Transfers(settings, service.storage, LinkSigner(settings))
    with pytest.raises(LinkError):
        transfers.download_url("bob", "results/alice/E1/upscale/result.png", "http://x")


# --- history, events, cancel, results --------------------------------------------------------------


def finish(service: AnalysisService, user: str, execution_id: str) -> str:
    """What RecordResult does at the end of a successful upscale."""
    prefix = keys.result_prefix(user, execution_id, "upscale")
    service.storage.put_bytes(prefix + "result.png", encode(photo(32)), "image/png")
    service.storage.put_json(prefix + "metadata.json", {"model": "fallback: test", "device": "cpu"})
    service.index.finalise(
        user,
        execution_id,
        Outcome(
            status=ExecutionStatus.SUCCEEDED,
            recorded_by="RecordResult",
            result_keys=[prefix + "result.png"],
            metadata_keys=[prefix + "metadata.json"],
        ),
    )
    return prefix + "result.png"


def test_a_finished_execution_links_its_result(client, alice, bob, upload, photo_png, service) -> None:
    execution = submit(client, alice, upload(alice, photo_png)).json()["execution_id"]
    finish(service, "alice", execution)
    status = client.get(f"/image-ai-analysis/{execution}", headers=alice).json()
    assert status["status"] == "SUCCEEDED" and status["progress"]["percent"] == 100
    assert status["metadata"]["upscale"]["model"] == "fallback: test"
    (result,) = status["results"]
    downloaded = client.get(result["url"])
    assert downloaded.status_code == 200
    assert downloaded.content == service.storage.get_bytes(result["key"])
    assert downloaded.headers["content-type"] == "image/png"


def test_the_view_links_the_thumbnail_the_job_wrote_and_null_for_a_run_without_one(
    client, alice, upload, photo_png, service, settings, tmp_path
) -> None:
    from jobs import cli

    older, execution = (submit(client, alice, upload(alice, photo_png)).json()["execution_id"] for _ in range(2))
    finish(service, "alice", older)  # metadata without a thumbnail, as before jobs wrote one
    prefix = keys.result_prefix("alice", execution, "denoise")
    source = tmp_path / "wide.png"
    source.write_bytes(encode(photo(400).resize((400, 300))))
    job = ["denoise", "--input", source.as_uri(), "--options", '{"method": "tv"}']
    assert cli.main([*job, "--output", (service.storage.root / prefix).as_uri() + "/"], settings=settings) == 0
    service.index.finalise(
        "alice",
        execution,
        Outcome(
            status=ExecutionStatus.SUCCEEDED,
            recorded_by="RecordResult",
            result_keys=[prefix + "result.png"],
            metadata_keys=[prefix + "metadata.json"],
        ),
    )

    thumbnail = client.get(f"/image-ai-analysis/{execution}", headers=alice).json()["thumbnail"]
    assert thumbnail["key"] == prefix + "thumbnail.webp" and (thumbnail["width"], thumbnail["height"]) == (256, 192)
    served = client.get(thumbnail["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "WEBP" and image.size == (256, 192)
    history = client.get("/image-ai-analysis", headers=alice).json()["items"]
    listed = {e["execution_id"]: e["thumbnail"] for e in history}
    assert listed[execution]["url"] and listed[execution]["key"] == thumbnail["key"]
    assert listed[older] is None


def test_a_tampered_download_link_is_refused(client, alice, upload, photo_png, service) -> None:
    execution = submit(client, alice, upload(alice, photo_png)).json()["execution_id"]
    finish(service, "alice", execution)
    url = client.get(f"/image-ai-analysis/{execution}", headers=alice).json()["results"][0]["url"]
    assert_problem(client.get(url[:-2] + ("xy" if not url.endswith("xy") else "yz")), 403)
    assert_problem(client.get("/downloads/" + "e30.e30.sig"), 403)


def test_history_pages_newest_first(client, alice, upload, photo_png) -> None:
    key = upload(alice, photo_png)
    ids = [submit(client, alice, key).json()["execution_id"] for _ in range(3)]
    first = client.get("/image-ai-analysis?limit=2", headers=alice).json()
    assert [e["execution_id"] for e in first["items"]] == ids[::-1][:2]
    second = client.get(f"/image-ai-analysis?limit=2&cursor={first['next_cursor']}", headers=alice).json()
    assert [e["execution_id"] for e in second["items"]] == ids[:1]
    assert second["next_cursor"] is None


def test_cancel_stops_the_execution(client, alice, upload, photo_png, states, service) -> None:
    execution = submit(client, alice, upload(alice, photo_png)).json()["execution_id"]
    response = client.post(f"/image-ai-analysis/{execution}/cancel", headers=alice)
    assert response.status_code == 200
    assert response.json()["status"] == "ABORTED"  # the cancel's own answer asks Step Functions once
    (stored,) = states.executions.values()
    assert stored["status"] == "ABORTED"
    # A poll reads the index (never Step Functions): ABORTED once the status-change handler records it.
    service.index.finalise("alice", execution, Outcome(status=ExecutionStatus.ABORTED, recorded_by="StatusChange"))
    assert client.get(f"/image-ai-analysis/{execution}", headers=alice).json()["status"] == "ABORTED"


def test_delete_removes_an_ended_execution_and_refuses_a_running_one(
    client, alice, bob, upload, photo_png, service
) -> None:
    execution = submit(client, alice, upload(alice, photo_png)).json()["execution_id"]
    running = assert_problem(client.delete(f"/image-ai-analysis/{execution}", headers=alice), 409)
    assert running["detail"] == f"execution {execution} is still running: cancel it first"
    service.index.finalise("alice", execution, Outcome(status=ExecutionStatus.ABORTED, recorded_by="StatusChange"))
    assert_problem(client.delete(f"/image-ai-analysis/{execution}", headers=bob), 404)  # not bob's

    deleted = client.delete(f"/image-ai-analysis/{execution}", headers=alice)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_problem(client.get(f"/image-ai-analysis/{execution}", headers=alice), 404)
    assert client.get("/image-ai-analysis", headers=alice).json()["items"] == []


def test_events_list_the_state_by_state_history(client, alice, upload, photo_png) -> None:
    execution = submit(client, alice, upload(alice, photo_png)).json()["execution_id"]
    events = client.get(f"/image-ai-analysis/{execution}/events", headers=alice).json()["events"]
    assert [e["type"] for e in events] == ["ExecutionStarted", "TaskStateEntered"]
    assert events[1]["stateEnteredEventDetails"]["name"] == "ValidateInput"
