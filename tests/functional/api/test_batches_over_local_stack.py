"""Many images in one request, over the real local stack: the API, the real state machine
(its Map over chunks) on the local states service, the real Lambdas and the real job CLI."""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from aiorch import keys
from aiorch.ids import new_id
from aiorch.settings import Settings
from aiorch.storage import open_app_storage
from tests.conftest import encode, photo
from tests.fakes import paced_jobs
from tests.functional.api.test_api_over_local_stack import headers_for, submit, upload, wait_until
from tests.support import api_client, free_port, states_service_running, wait_for

pytestmark = [pytest.mark.functional, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("batch-stack"),
        states_port=free_port(),
        max_running_executions_per_user=1,  # a batch counts once
        batch_chunk_images=2,  # two images to a job
        job_module="tests.fakes.paced_jobs",  # the real job CLI; held at known points only while a test asks
    )
    with states_service_running(settings):
        yield settings


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> TestClient:
    return api_client(stack_settings)


def landed_unchecked(settings: Settings, user: str, data: bytes) -> str:
    """A file in the user's uploads that no upload check saw: in AWS the browser POSTs straight to S3,
    so a truncated file is first met by ValidateInput (the local upload route refuses it at the door)."""
    key = keys.upload_key(user, new_id(), "jpg")
    open_app_storage(settings).put_bytes(key, data, "image/jpeg")
    return key


def test_a_batch_with_one_corrupt_image_gives_the_others_results(client: TestClient, stack_settings: Settings) -> None:
    carol = headers_for(stack_settings, "carol")
    good = [upload(client, carol, encode(photo(size))) for size in (48, 32)]
    whole = encode(photo(64), "JPEG")
    corrupt = landed_unchecked(stack_settings, "carol", whole[: len(whole) // 2])  # its header reads; not the rest
    uploads = [good[0], corrupt, good[1]]

    response = submit(client, carol, operation="denoise", uploads=uploads, options={"method": "tv"})
    assert response.status_code == 202, response.text
    execution_id = response.json()["execution_id"]
    # One execution for the whole batch: it counts once against the limit (1 here).
    assert submit(client, carol, operation="denoise", upload=good[0]).status_code == 429

    ended, _ = wait_until(client, carol, execution_id, lambda s: s["status"] != "RUNNING")
    assert ended["status"] == "SUCCEEDED", ended
    images = ended["images"]
    assert [i["status"] for i in images] == ["SUCCEEDED", "FAILED", "SUCCEEDED"], images
    assert [i["input_key"] for i in images] == uploads
    assert "damaged or truncated" in images[1]["error"]["message"], images[1]
    for image, size in ((images[0], 48), (images[2], 32)):
        (result,) = image["results"]
        with Image.open(io.BytesIO(client.get(result["url"]).content)) as got:
            assert got.size == (size, size)
        assert image["percent"] == 100 and image["input_url"]
        thumbnail = client.get(image["thumbnail"]["url"])  # its job's small WebP, for the cards
        assert thumbnail.headers["content-type"] == "image/webp" and image["thumbnail"]["width"] <= 256
    assert images[1]["thumbnail"] is None
    assert ended["thumbnail"]["key"] == images[0]["thumbnail"]["key"]  # the History card shows the first

    # The two accepted images ran in one chunk of the Map, one job; the refused one never reached a job.
    events = client.get(f"/image-ai-analysis/{execution_id}/events", headers=carol).json()["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered.count("ChunkJob") == 1 and "RunChunks" in entered, entered  # one accepted pair in one chunk
    assert "Denoise" not in entered  # the one-image path is not taken

    # One analytics row per image, under the execution's id (written just after the index entry).
    storage = open_app_storage(stack_settings)
    expected = [f"{execution_id}-{i:03d}.parquet" for i in range(3)]

    def rows() -> list[str]:
        return sorted(k.rsplit("/", 1)[-1] for k in storage.list("analytics/results/") if execution_id in k)

    assert wait_for(lambda: rows() == expected, 60, "one analytics row per image")


def test_a_batch_where_no_image_can_run_fails_at_validation(client: TestClient, stack_settings: Settings) -> None:
    dave = headers_for(stack_settings, "dave")
    whole = encode(photo(64), "JPEG")
    broken = [landed_unchecked(stack_settings, "dave", whole[: len(whole) // 2]) for _ in range(2)]
    execution_id = submit(client, dave, operation="denoise", uploads=broken).json()["execution_id"]
    ended, _ = wait_until(client, dave, execution_id, lambda s: s["status"] != "RUNNING")
    assert ended["status"] == "FAILED", ended
    message = ended["error"]["message"]
    assert message.startswith("none of the 2 images can run; image 1: the file is a damaged or truncated JPEG"), message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"uploads": []}, "at least 1 item"),
        ({"uploads": ["k"] * 51}, "at most 50 items"),
        ({"upload": "k", "uploads": ["k"]}, "not both"),
    ],
)
def test_a_malformed_batch_is_refused_before_anything_starts(
    client: TestClient, stack_settings: Settings, body: dict[str, Any], words: str
) -> None:
    erin = headers_for(stack_settings, "erin")
    refused = submit(client, erin, operation="denoise", **body)
    assert refused.status_code in (400, 422), refused.text
    assert words in refused.text
    assert client.get("/image-ai-analysis", headers=erin).json()["items"] == []


def test_a_stop_during_a_batch_ends_its_running_job_within_seconds(
    client: TestClient, stack_settings: Settings
) -> None:
    frank = headers_for(stack_settings, "frank")
    uploads = [upload(client, frank, encode(photo(128))) for _ in range(3)]
    pace = paced_jobs.pace_root(stack_settings)
    pace.mkdir()  # the job holds in its first image's model stage (tests/fakes/paced_jobs.py), whatever the machine
    try:
        execution_id = submit(client, frank, operation="upscale", uploads=uploads).json()["execution_id"]
        held = pace / "frank" / execution_id / "upscale" / "000" / "held-0.json"
        wait_for(held.exists, 120, "the first image's job to hold in its model stage")

        stopped_at = time.monotonic()
        assert client.post(f"/image-ai-analysis/{execution_id}/cancel", headers=frank).status_code == 200
    finally:
        shutil.rmtree(pace, ignore_errors=True)  # pacing off again for the module's other tests
    storage = open_app_storage(stack_settings)
    first = f"results/frank/{execution_id}/upscale/000/error.json"
    error = wait_for(lambda: storage.exists(first) and storage.get_json(first), 30, "the running image's error.json")
    assert error["type"] == "Stopped" and time.monotonic() - stopped_at < 30, error
    ended, _ = wait_until(client, frank, execution_id, lambda s: s["status"] != "RUNNING")
    assert ended["status"] == "ABORTED", (ended["error"], ended["images"])
    # Stopped with the batch: those running (one per chunk: two chunks of 2 and 1) and those not yet begun.
    assert [i["status"] for i in ended["images"]] == ["ABORTED"] * 3, ended["images"]
    assert "was stopped" in ended["images"][0]["error"]["message"]
