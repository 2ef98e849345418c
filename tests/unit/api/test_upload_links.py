"""Local upload links: one use each, short whatever the file's name, and never written to the access log."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from aiorch_local.server import RedactLinkTokens, redact_link_tokens


def target(client: TestClient, headers: dict[str, str], **body: str) -> dict:
    answer = client.post("/uploads", json={"content_type": "image/png", **body}, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def post(client: TestClient, link: dict, data: bytes):
    return client.post(link["url"], data=link["fields"], files={"file": ("photo.png", data, "image/png")})


def test_a_link_uploads_once(client: TestClient, alice: dict[str, str], photo_png: bytes) -> None:
    link = target(client, alice)
    assert post(client, link, photo_png).status_code == 201
    again = post(client, link, photo_png)
    assert again.status_code == 403
    assert "already used" in again.json()["detail"]


def test_a_refused_upload_leaves_its_link_usable(client: TestClient, alice: dict[str, str], photo_png: bytes) -> None:
    link = target(client, alice)
    assert post(client, link, b"this is not an image").status_code == 400
    assert post(client, link, photo_png).status_code == 201


def test_a_name_of_300_emoji_gets_a_link_that_works(client: TestClient, alice: dict[str, str], photo_png) -> None:
    link = target(client, alice, filename="😀" * 300 + ".png")
    stored = post(client, link, photo_png)
    assert stored.status_code == 201, stored.text
    assert len(link["url"]) < 4096


def test_the_access_log_keeps_routes_not_tokens() -> None:
    assert redact_link_tokens("/local-uploads/eyJhbGciOi.abc.def") == "/local-uploads/…"
    assert redact_link_tokens("/downloads/eyJ.x.y?inline=1") == "/downloads/…?inline=1"
    assert redact_link_tokens("/authorize?code=abc123&state=s1") == "/authorize?code=…&state=…"
    assert redact_link_tokens("/image-ai-analysis/01ABC") == "/image-ai-analysis/01ABC"
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/downloads/secret.token.value", "1.1", 200), None,
    )  # fmt: skip
    assert RedactLinkTokens().filter(record)
    assert "secret" not in record.getMessage()


def test_heic_is_named_with_what_to_do(client: TestClient, alice: dict[str, str]) -> None:
    asked = client.post("/uploads", json={"content_type": "image/heic"}, headers=alice)
    assert asked.status_code == 415
    assert asked.json()["detail"].startswith("HEIC is not supported yet: convert it to JPEG or PNG")
    # A HEIC file sent as a PNG (the browser guessed the type from its name):
    link = target(client, alice)
    heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64
    refused = post(client, link, heic)
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("HEIC is not supported yet")
