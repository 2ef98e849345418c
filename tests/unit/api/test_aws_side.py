"""The AWS side of the same app: presigned S3 uploads and downloads (moto), and the Lambda entry (Mangum)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from fastapi.testclient import TestClient
from moto import mock_aws

from aiorch.analysis import AnalysisService
from aiorch.settings import Settings
from aiorch.storage import S3Storage
from lambdas.api.app import create_app
from tests.unit.api.conftest import FakeStates


@pytest.fixture
def s3_client_app(settings: Settings) -> Iterator[tuple[TestClient, S3Storage]]:
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="aiorch-data")
        storage = S3Storage("aiorch-data", prefix="env1", region="us-east-1")
        service = AnalysisService(settings, storage=storage, states_client=FakeStates())
        yield TestClient(create_app(settings, service)), storage


def test_uploads_get_a_presigned_s3_post_with_size_and_type_conditions(
    s3_client_app: tuple[TestClient, S3Storage], alice: dict[str, str], photo_png: bytes, settings: Settings
) -> None:
    client, storage = s3_client_app
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=alice).json()
    assert target["upload"].startswith("uploads/alice/") and target["upload"].endswith("/original.png")
    assert target["fields"]["key"] == "env1/" + target["upload"]
    assert target["fields"]["Content-Type"] == "image/png"
    import base64
    import json

    policy = json.loads(base64.b64decode(target["fields"]["policy"]))
    assert ["content-length-range", 1, settings.upload_max_bytes] in policy["conditions"]
    assert {"Content-Type": "image/png"} in policy["conditions"]

    sent = requests.post(target["url"], data=target["fields"], files={"file": ("p.png", photo_png)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    assert storage.get_bytes(target["upload"]) == photo_png

    # The key known in advance works at once with the analysis route.
    submitted = client.post(
        "/image-ai-analysis", json={"operation": "upscale", "upload": target["upload"]}, headers=alice
    )
    assert submitted.status_code == 202


def test_result_links_are_presigned_s3_gets(
    s3_client_app: tuple[TestClient, S3Storage], alice: dict[str, str], photo_png: bytes
) -> None:
    client, storage = s3_client_app
    storage.put_bytes("uploads/alice/U1/original.png", photo_png, "image/png")
    execution = client.post(
        "/image-ai-analysis", json={"operation": "upscale", "upload": "uploads/alice/U1/original.png"}, headers=alice
    ).json()
    status = client.get(f"/image-ai-analysis/{execution['execution_id']}", headers=alice).json()
    assert "Signature=" in status["input_url"] and "/env1/uploads/alice/U1/original.png" in status["input_url"]
    assert requests.get(status["input_url"], timeout=10).content == photo_png


def test_s3_downloads_are_named_after_the_original(
    s3_client_app: tuple[TestClient, S3Storage], alice: dict[str, str], photo_png: bytes
) -> None:
    """The browser posts straight to S3, so the name given with POST /uploads is kept then; the presigned
    GET answers the same Content-Disposition as the local download."""
    from tests.unit.api.test_routes import finish

    client, storage = s3_client_app
    target = client.post("/uploads", json={"content_type": "image/png", "filename": "Ünïcode cat.png"}, headers=alice)
    key = target.json()["upload"]
    storage.put_bytes(key, photo_png, "image/png")  # as S3 stores the browser's POST
    execution = client.post("/image-ai-analysis", json={"operation": "upscale", "upload": key}, headers=alice)
    execution_id = execution.json()["execution_id"]
    service = client.app.state.ctx.service  # type: ignore[attr-defined]
    finish(service, "alice", execution_id)

    status = client.get(f"/image-ai-analysis/{execution_id}", headers=alice).json()
    assert status["original_name"] == "Ünïcode cat.png"
    (result,) = status["results"]
    assert result["filename"] == "Ünïcode cat-upscaled.png"
    downloaded = requests.get(result["url"], timeout=10)
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Disposition"] == (
        "attachment; filename=\"_n_code cat-upscaled.png\"; filename*=UTF-8''%C3%9Cn%C3%AFcode%20cat-upscaled.png"
    )


def test_the_lambda_handler_serves_the_app_through_mangum(settings: Settings) -> None:
    handler_module = importlib.import_module("lambdas.api.handler")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/image-ai-analysis",
        "rawQueryString": "",
        "headers": {"host": "api.example"},
        "requestContext": {
            "http": {"method": "GET", "path": "/image-ai-analysis", "sourceIp": "1.2.3.4", "protocol": "HTTP/1.1"},
            "stage": "$default",
            "requestId": "r1",
        },
        "isBase64Encoded": False,
    }
    response = handler_module.handler(event, None)
    assert response["statusCode"] == 401
    assert response["headers"]["content-type"] == "application/problem+json"
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/healthz"
    assert handler_module.handler(event, None)["statusCode"] == 200
