"""Bodies are cut at their limit as they stream in, declared or chunked: 413, never 400 or 500."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from aiorch.settings import Settings

CHUNK = b"\0" * (64 * 1024)


def chunked_form(fields: dict[str, str], total_bytes: int, sent: list[int]) -> tuple[Iterator[bytes], str]:
    """A multipart form whose file part streams ``total_bytes`` of zeros; ``sent`` counts what was read."""
    boundary = "aiorchboundary"

    def body() -> Iterator[bytes]:
        for name, value in fields.items():
            yield f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        while sent[0] < total_bytes:
            sent[0] += len(CHUNK)
            yield CHUNK
        yield f"\r\n--{boundary}--\r\n".encode()

    return body(), f"multipart/form-data; boundary={boundary}"


def test_a_chunked_upload_past_the_limit_is_a_413_problem(
    client: TestClient, alice: dict[str, str], settings: Settings
) -> None:
    """In process (TestClient reads the whole body first, so the server's memory is measured by
    tests/functional/api/test_streamed_body_limit.py on the real server)."""
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=alice).json()
    body, content_type = chunked_form(target["fields"], settings.upload_max_bytes + 2**20, [0])

    answer = client.post(target["url"], content=body, headers={"Content-Type": content_type})

    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert f"{settings.upload_max_bytes} bytes" in answer.json()["detail"]


def test_a_chunked_json_body_past_its_limit_is_a_413(client: TestClient, alice: dict[str, str]) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"operation": "upscale", "upload": "'
        yield b"x" * (64 * 1024)
        yield b'"}'

    answer = client.post("/image-ai-analysis", content=body(), headers={**alice, "Content-Type": "application/json"})
    assert answer.status_code == 413
    assert "16384 bytes" in answer.json()["detail"]


def test_a_chunked_upload_within_the_limit_is_stored(client: TestClient, alice: dict[str, str], photo_png) -> None:
    target = client.post("/uploads", json={"content_type": "image/png"}, headers=alice).json()

    def body() -> Iterator[bytes]:
        boundary = "aiorchboundary"
        for name, value in target["fields"].items():
            yield f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n'
               "Content-Type: image/png\r\n\r\n").encode()  # fmt: skip
        yield photo_png
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = client.post(
        target["url"], content=body(), headers={"Content-Type": "multipart/form-data; boundary=aiorchboundary"}
    )
    assert answer.status_code == 201, answer.text
