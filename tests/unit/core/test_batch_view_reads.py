"""What one poll of a 50-image batch's view costs in storage reads (each an S3 GET or LIST in AWS, and the
web app polls every second or so): once RecordResult has recorded the batch, none (the images' names
were kept in the record at submit, their thumbnails in their outcomes); while it runs, one listing and
only what an image not yet recorded needs. The view shows the same as when it read everything per poll."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from aiorch import keys
from aiorch.analysis import AnalysisService
from aiorch.analysis.progress import as_percent
from aiorch.contracts import AnalysisRequest, ExecutionRecord, ExecutionStatus, JobStage
from aiorch.storage import LocalStorage
from lambdas.outcome import OutcomeEvent
from lambdas.record_result.handler import record_result
from tests.conftest import encode, photo
from tests.fakes.states import FakeStates

USER = "alice"
IMAGES = 50
FAILED = 7  # its job wrote error.json
RUNNING = 12  # its job is under way (progress.json) while the batch runs
NO_THUMBNAIL = {9, 19}  # their job's metadata.json names no thumbnail
READS = ("get_json", "get_bytes", "read_head", "list", "exists", "size")


class CountingStorage:
    """The storage, counting each read the service makes through it (by method, and by the file read)."""

    def __init__(self, inner: LocalStorage) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.files: Counter[str] = Counter()  # name.json, metadata.json, progress.json, ... per get_json

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in READS or not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if name == "get_json":
                self.files[str(args[0]).rsplit("/", 1)[-1]] += 1
            result = attr(*args, **kwargs)
            return list(result) if name == "list" else result

        return counted

    def reads(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()
        self.files.clear()


@pytest.fixture
def counting(storage: LocalStorage) -> CountingStorage:
    return CountingStorage(storage)


@pytest.fixture
def service(settings, storage, counting) -> AnalysisService:
    service = AnalysisService(settings, storage=storage, states_client=FakeStates())
    service.storage = counting  # type: ignore[assignment]  # its reads, counted (the index has its own)
    return service


def name_of(index: int) -> str:
    return f"holiday photo {index:02d}.png"


@pytest.fixture
def batch(service: AnalysisService, storage: LocalStorage) -> ExecutionRecord:
    """A submitted 50-image denoise batch whose jobs have written their files: image FAILED failed,
    image RUNNING is under way, the rest succeeded (those in NO_THUMBNAIL without a thumbnail)."""
    png = encode(photo(16))
    uploads = [service.store_upload(USER, png, original_name=name_of(i)).key for i in range(IMAGES)]
    record = service.submit(USER, "denoise", None, upload_keys=uploads, options={"method": "tv"})
    for index in range(IMAGES):
        prefix = keys.batch_image_prefix(USER, record.execution_id, "denoise", index)
        if index == FAILED:
            storage.put_json(prefix + "error.json", {"type": "ImageDecodeError", "message": "truncated"})
        elif index == RUNNING:
            storage.put_json(prefix + "progress.json", {"stage": JobStage.denoising, "done": 1, "total": 4})
        else:
            storage.put_bytes(prefix + "result.png", b"png")
            metadata: dict[str, Any] = {"operation": "denoise"}
            if index not in NO_THUMBNAIL:
                storage.put_bytes(prefix + "thumbnail.webp", b"webp")
                metadata["thumbnail"] = {"file": "thumbnail.webp", "width": 16, "height": 12}
            storage.put_json(prefix + "metadata.json", metadata)
    return record


def as_recorded_before(record: ExecutionRecord) -> ExecutionRecord:
    """The record as the index held it before names and thumbnails were kept in it (its JSON without them)."""
    doc = json.loads(record.model_dump_json())
    doc.pop("input_names")
    for outcome in doc["images"]:
        del outcome["thumbnail"], outcome["thumbnail_recorded"]
    return ExecutionRecord.model_validate(doc)


def record_the_batch(storage: LocalStorage, record: ExecutionRecord) -> None:
    """RecordResult, as the state machine runs it at the batch's end (its last image done)."""
    prefix = keys.batch_image_prefix(USER, record.execution_id, "denoise", RUNNING)
    storage.delete(prefix + "progress.json")
    storage.put_bytes(prefix + "result.png", b"png")
    storage.put_bytes(prefix + "thumbnail.webp", b"webp")
    storage.put_json(prefix + "metadata.json", {"thumbnail": {"file": "thumbnail.webp", "width": 16, "height": 12}})
    request = AnalysisRequest(**record.model_dump(include=set(AnalysisRequest.model_fields)))
    record_result(OutcomeEvent.model_validate({"input": {"request": request}}), storage)


def shown(view: Any) -> list[dict[str, Any]]:
    return [image.model_dump() for image in view.images]


@pytest.fixture
def recorded(service: AnalysisService, storage: LocalStorage, batch: ExecutionRecord) -> Iterator[ExecutionRecord]:
    record_the_batch(storage, batch)
    record = service.index.get(USER, batch.execution_id)
    assert record is not None and record.status is ExecutionStatus.SUCCEEDED and len(record.images) == IMAGES
    yield record


def test_submit_keeps_the_batchs_names_in_its_record(service, batch) -> None:
    assert batch.input_names == [name_of(i) for i in range(IMAGES)]
    assert service.index.get(USER, batch.execution_id).input_names == batch.input_names  # as stored


def test_record_result_keeps_each_images_thumbnail_in_its_outcome(batch, recorded) -> None:
    for outcome in recorded.images:
        prefix = keys.batch_image_prefix(USER, batch.execution_id, "denoise", outcome.index)
        if outcome.index == FAILED:
            assert outcome.status is ExecutionStatus.FAILED and outcome.thumbnail is None
            continue
        assert outcome.status is ExecutionStatus.SUCCEEDED and outcome.thumbnail_recorded
        if outcome.index in NO_THUMBNAIL:
            assert outcome.thumbnail is None
        else:
            assert outcome.thumbnail is not None
            assert (outcome.thumbnail.key, outcome.thumbnail.width, outcome.thumbnail.height) == (
                prefix + "thumbnail.webp",
                16,
                12,
            )
    assert "url" not in recorded.model_dump_json()  # links expire: made when shown, never stored


def test_a_recorded_batchs_view_reads_nothing_per_image(service, counting, recorded) -> None:
    counting.reset()
    view = service.view(recorded, live=True)
    # No listing, no name.json, no metadata.json: nothing per image. One read per execution: this
    # batch ended with a failed image, so its view looks up the retries linked to it (retried_by.json).
    assert counting.calls == Counter({"get_json": 1}), counting.calls
    assert counting.files == Counter({"retried_by.json": 1})

    # What it shows is what the view showed when it read each image's name.json and metadata.json.
    counting.reset()
    before = service.view(as_recorded_before(recorded), live=True)
    assert counting.files["name.json"] == IMAGES  # the old way: each image's name.json, each poll
    assert counting.files["metadata.json"] == IMAGES - 1  # each succeeded image's
    assert shown(view) == shown(before)
    assert (view.original_name, view.thumbnail, view.status) == (before.original_name, before.thumbnail, before.status)

    images = shown(view)
    assert [i["original_name"] for i in images] == [name_of(i) for i in range(IMAGES)]
    assert [i["status"] for i in images] == ["FAILED" if i == FAILED else "SUCCEEDED" for i in range(IMAGES)]
    with_thumbnail = [i["index"] for i in images if i["thumbnail"]]
    assert with_thumbnail == [i for i in range(IMAGES) if i != FAILED and i not in NO_THUMBNAIL]
    assert images[0]["thumbnail"]["key"].endswith("/000/thumbnail.webp") and view.thumbnail is not None
    assert images[0]["results"][0]["filename"] == "holiday photo 00-denoised.png"


def test_a_running_batchs_view_reads_one_listing_and_only_what_unrecorded_images_need(service, counting, batch) -> None:
    counting.reset()
    view = service.view(batch, live=True)
    succeeded = IMAGES - 2  # all but the failed and the running one
    assert counting.calls["list"] == 1
    assert counting.files["name.json"] == 0  # the names come from the record
    assert counting.files["metadata.json"] == succeeded  # each result's thumbnail, until it is recorded
    assert counting.files["error.json"] == 1 and counting.files["progress.json"] >= 1
    # The execution's own progress (its per-job progress.json) and the running image's: a few reads
    # that do not grow with the images; nothing else.
    assert counting.reads() == 1 + succeeded + 1 + counting.files["progress.json"]
    assert counting.files["progress.json"] <= 3

    counting.reset()
    before = service.view(as_recorded_before(batch), live=True)
    assert counting.files["name.json"] == IMAGES
    assert shown(view) == shown(before)
    statuses = [i["status"] for i in shown(view)]
    assert statuses[FAILED] == "FAILED" and statuses[RUNNING] == "RUNNING"
    assert statuses.count("SUCCEEDED") == succeeded
    # The one progress formula's (not a raw done/total): 15 % queue and start-up, then a quarter of the model's 80 %.
    assert view.images[RUNNING].percent == 35.0 and view.images[FAILED].error.type == "ImageDecodeError"
    # The batch's own bar, by the same formula: its one job's third (between ValidateInput and
    # RecordResult) filled by its images, each ended one whole, the running one at its 35 %.
    assert view.progress.percent == as_percent((1 + (IMAGES - 1 + 0.35) / IMAGES) / 3)
