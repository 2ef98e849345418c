"""The API's edges under bad input and faults: 415 for a body that is not JSON or an image type that is
not accepted, the options' size limit before anything is stored, 503 with the reason when the workflow
service cannot be reached, 507 when storage is full, 405 naming every method of a path, API paths never
answered with the page, and downloads named after the original upload (Content-Disposition)."""

from __future__ import annotations

import errno
import sqlite3
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import EndpointConnectionError
from fastapi.testclient import TestClient

from aiorch.analysis import AnalysisService
from aiorch.analysis.names import MAX_NAME_CHARS, download_name, sanitise_name
from lambdas.api.transfers import content_disposition
from tests.fakes.states import FakeStates
from tests.unit.api.test_routes import assert_problem, finish, submit

# --- 415 ---------------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_415_and_starts_nothing(client: TestClient, alice, states: FakeStates) -> None:
    for path in ("/image-ai-analysis", "/uploads"):
        sent = client.post(path, content=b"operation=upscale", headers={**alice, "content-type": "text/plain"})
        refused = assert_problem(sent, 415)
        assert "application/json" in refused["detail"] and "text/plain" in refused["detail"]
    assert states.started == []


def test_an_image_type_that_cannot_be_uploaded_is_415_naming_the_accepted_ones(client: TestClient, alice) -> None:
    refused = assert_problem(client.post("/uploads", json={"content_type": "image/gif"}, headers=alice), 415)
    assert "'image/gif' cannot be uploaded" in refused["detail"]
    assert all(t in refused["detail"] for t in ("image/png", "image/jpeg", "image/webp"))


# --- options' size limit -----------------------------------------------------------------------------


def test_options_over_the_size_limit_are_refused_before_anything_is_stored(
    client: TestClient, alice, upload, photo_png, service: AnalysisService, states: FakeStates
) -> None:
    key = upload(alice, photo_png)
    # 200 KB of options: refused from the declared length, before the body is read.
    refused = assert_problem(submit(client, alice, key, key="big-1", options={"model": "x" * 200_000}), 413)
    assert "the limit is 16384 bytes" in refused["detail"] and "options at most 4096 bytes" in refused["detail"]
    # 5 KB: within a body's limit, over the options' own (checked before the index or the workflow).
    refused = assert_problem(submit(client, alice, key, key="big-2", options={"model": "x" * 5000}), 400)
    assert "options are larger than 4096 bytes" in refused["detail"]
    assert states.started == []
    assert service.index.page("alice", 10)[0] == []  # no record, no idempotency claim
    assert submit(client, alice, key, key="big-1").status_code == 202  # the keys were not taken
    assert submit(client, alice, key, key="big-2").status_code == 202


# --- workflow service down: 503 with the reason ------------------------------------------------------


class UnreachableStates(FakeStates):
    """A states service that cannot be reached at all (as botocore reports a refused connection)."""

    def _down(self, *args: Any, **kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    start_execution = describe_execution = stop_execution = get_execution_history = _down


def test_a_workflow_service_that_cannot_be_reached_is_503_with_the_reason(
    client: TestClient, alice, upload, photo_png, service: AnalysisService
) -> None:
    key = upload(alice, photo_png)
    execution = submit(client, alice, key).json()["execution_id"]
    service._states = UnreachableStates()

    # A status poll reads the index and progress.json only: it answers while the service is down.
    polled = client.get(f"/image-ai-analysis/{execution}", headers=alice)
    assert polled.status_code == 200 and polled.json()["status"] == "RUNNING"
    for method, path in (
        ("GET", f"/image-ai-analysis/{execution}/events"),
        ("POST", f"/image-ai-analysis/{execution}/cancel"),
    ):
        refused = assert_problem(client.request(method, path, headers=alice), 503)
        assert "workflow service is down" in refused["detail"] or "state history cannot be read" in refused["detail"]
        assert "Could not connect" in refused["detail"]  # the reason, as the client library gives it
    refused = assert_problem(submit(client, alice, key), 503, "could not start the execution")
    # A page of the history still answers, from the index: one unreachable service does not fail it.
    listed = client.get("/image-ai-analysis", headers=alice)
    assert listed.status_code == 200 and listed.json()["items"][-1]["execution_id"] == execution


# --- storage full: 507 -------------------------------------------------------------------------------


def test_a_full_storage_is_507_on_upload_and_on_submit(
    client: TestClient, alice, upload, photo_png, service: AnalysisService, monkeypatch
) -> None:
    key = upload(alice, photo_png)
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=alice).json()

    def no_space(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(service.storage, "put_bytes", no_space)
    sent = client.post(target["url"], data=target["fields"], files={"file": ("p.png", photo_png, "image/png")})
    assert_problem(sent, 507, "storage is full")

    def index_full(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(service.index, "start", index_full)
    assert_problem(submit(client, alice, key), 507, "nothing was started")


# --- 405 and API paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/image-ai-analysis/01J0000000000000000000000", "DELETE, GET"),
        ("OPTIONS", "/image-ai-analysis", "GET, POST"),
        ("GET", "/uploads", "POST"),
        ("GET", "/analytics/queries/cost_per_image/runs", "POST"),
    ],
)
def test_405_names_every_method_the_path_serves(client: TestClient, alice, method, path, allow) -> None:
    refused = assert_problem(client.request(method, path, headers=alice), 405)
    assert client.request(method, path, headers=alice).headers["allow"] == allow
    assert f"use {allow}" in refused["detail"]


def test_an_unknown_path_under_an_api_path_is_a_404_problem_never_the_page(client: TestClient, alice) -> None:
    for path in ("/image-ai-analysis/x/y", "/analytics/queries/cost_per_image/runs/q1/more", "/downloads/a/b"):
        assert_problem(client.get(path, headers=alice), 404)


# --- downloads named after the original ----------------------------------------------------------------


def test_results_download_under_the_original_name(
    client: TestClient, alice, photo_png, service: AnalysisService
) -> None:
    target = client.post("/uploads", json={"content_type": "image/png", "filename": "photo.jpg"}, headers=alice)
    body = target.json()
    sent = client.post(body["url"], data=body["fields"], files={"file": ("photo.jpg", photo_png, "image/png")})
    assert sent.status_code == 201 and sent.json()["original_name"] == "photo.jpg"
    execution = submit(client, alice, sent.json()["upload"]).json()["execution_id"]
    finish(service, "alice", execution)

    status = client.get(f"/image-ai-analysis/{execution}", headers=alice).json()
    assert status["original_name"] == "photo.jpg"
    (result,) = status["results"]
    assert result["filename"] == "photo-upscaled.png"
    downloaded = client.get(result["url"])
    assert downloaded.headers["content-disposition"] == (
        "attachment; filename=\"photo-upscaled.png\"; filename*=UTF-8''photo-upscaled.png"
    )
    original = client.get(status["input_url"])
    assert original.content == photo_png and 'filename="photo.jpg"' in original.headers["content-disposition"]


def test_without_a_name_the_result_is_named_after_the_execution(
    client: TestClient, alice, upload, photo_png, service: AnalysisService
) -> None:
    execution = submit(client, alice, upload(alice, photo_png)).json()["execution_id"]
    finish(service, "alice", execution)
    (result,) = client.get(f"/image-ai-analysis/{execution}", headers=alice).json()["results"]
    assert result["filename"] == f"upscale-{execution}.png"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ('my "best" photo.jpg', "my best photo.jpg"),
        ("evil\r\nSet-Cookie: a=b.png", "evilSet-Cookie a=b.png"),
        ("фото 1.JPG", "фото 1.JPG"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\cat.webp", "cat.webp"),
        ("...", None),
        ("\n", None),
        ("x" * 500 + ".png", "x" * MAX_NAME_CHARS + ".png"),
    ],
)
def test_names_are_sanitised_and_every_header_is_one_safe_line(given: str, kept: str | None) -> None:
    assert sanitise_name(given) == kept
    name = download_name(kept, "denoise", "E1", "results/u/E1/denoise/result.webp")
    header = content_disposition(name)
    assert header.isascii() and "\r" not in header and "\n" not in header
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in fallback and "\\" not in fallback
    assert header.endswith("filename*=UTF-8''" + quote(name, safe=""))
    assert name.endswith("-denoised.webp" if kept else ".webp")


def test_a_header_is_safe_for_any_name_even_unsanitised() -> None:
    header = content_disposition('a"\r\nb\\c.png')
    assert header == "attachment; filename=\"a___b_c.png\"; filename*=UTF-8''a%22%0D%0Ab%5Cc.png"
