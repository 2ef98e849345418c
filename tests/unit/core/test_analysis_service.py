"""The application service: uploads, idempotent submission, limits, isolation, status and cancel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aiorch.analysis import (
    AnalysisService,
    BadRequest,
    IdempotencyConflict,
    NotFoundError,
    StatesUnavailable,
    StillRunning,
    TooManyRunning,
)
from aiorch.contracts import ExecutionStatus, Outcome
from tests.conftest import encode, photo
from tests.fakes.states import FakeStates


@pytest.fixture
def states() -> FakeStates:
    return FakeStates()


@pytest.fixture
def service(settings, storage, states) -> AnalysisService:
    return AnalysisService(settings, storage=storage, states_client=states)


def test_upload_is_stored_under_the_users_prefix(service, photo_png) -> None:
    info = service.store_upload("alice", photo_png)
    assert info.key.startswith("uploads/alice/") and info.key.endswith("/original.png")
    assert (info.width, info.height, info.format, info.bytes) == (64, 64, "PNG", len(photo_png))
    jpeg = service.store_upload("alice", encode(photo(32), "JPEG"))
    assert jpeg.key.endswith(".jpg")


@pytest.mark.parametrize(("data", "message"), [(b"", "empty"), (b"hello", "not an image")])
def test_bad_uploads_are_refused(service, data, message) -> None:
    with pytest.raises(BadRequest, match=message):
        service.store_upload("alice", data)


def test_upload_size_limit(service, settings, photo_png, monkeypatch) -> None:
    monkeypatch.setattr(settings, "upload_max_bytes", 10)
    with pytest.raises(BadRequest, match="limit"):
        service.store_upload("alice", photo_png)


def test_submit_starts_one_named_execution_with_keys_only(service, states, photo_png) -> None:
    upload = service.store_upload("alice", photo_png)
    record = service.submit("alice", "upscale", upload.key, options={"outscale": 2})
    (call,) = states.started
    assert call["name"] == record.execution_id
    assert json.loads(call["input"]) == {
        "request": {
            "execution_id": record.execution_id,
            "user": "alice",
            "operation": "upscale",
            "input_key": upload.key,
            "mask_key": None,
            "options": {"outscale": 2},
        }
    }
    assert service.index.get("alice", record.execution_id).status is ExecutionStatus.RUNNING


def test_same_idempotency_key_same_execution(service, states, photo_png) -> None:
    upload = service.store_upload("alice", photo_png)
    first = service.submit("alice", "denoise", upload.key, idempotency_key="k-1")
    again = service.submit("alice", "denoise", upload.key, idempotency_key="k-1")
    assert first.execution_id == again.execution_id and len(states.started) == 1
    with pytest.raises(IdempotencyConflict):
        service.submit("alice", "upscale", upload.key, idempotency_key="k-1")
    with pytest.raises(BadRequest):
        service.submit("alice", "upscale", upload.key, idempotency_key="../x")


def test_users_cannot_use_or_see_each_others_things(service, photo_png) -> None:
    upload = service.store_upload("alice", photo_png)
    record = service.submit("alice", "upscale", upload.key)
    with pytest.raises(NotFoundError):
        service.submit("bob", "upscale", upload.key)
    with pytest.raises(NotFoundError):
        service.get_status("bob", record.execution_id)
    with pytest.raises(NotFoundError):
        service.cancel("bob", record.execution_id)
    with pytest.raises(NotFoundError):
        service.open_result("bob", f"results/alice/{record.execution_id}/upscale/result.png")
    assert service.list_executions("bob") == ([], None)


def test_running_limit(service, settings, photo_png, monkeypatch) -> None:
    monkeypatch.setattr(settings, "max_running_executions_per_user", 2)
    upload = service.store_upload("alice", photo_png)
    service.submit("alice", "upscale", upload.key)
    service.submit("alice", "upscale", upload.key)
    with pytest.raises(TooManyRunning) as exc:
        service.submit("alice", "upscale", upload.key, idempotency_key="later")
    assert exc.value.retry_after_s > 0
    # The refused key was released, so the same request can be retried later.
    monkeypatch.setattr(settings, "max_running_executions_per_user", 3)
    assert service.submit("alice", "upscale", upload.key, idempotency_key="later")


def test_unknown_operation_and_unavailable_service(service, states, photo_png) -> None:
    upload = service.store_upload("alice", photo_png)
    with pytest.raises(BadRequest, match="unknown operation"):
        service.submit("alice", "sharpen", upload.key)
    states.fail_start = True
    with pytest.raises(StatesUnavailable):
        service.submit("alice", "upscale", upload.key)
    (record,), _ = service.index.page("alice", 10)
    assert record.status is ExecutionStatus.FAILED and record.error_type == "StartExecutionFailed"


def test_status_shows_the_running_job_progress(service, states, storage, photo_png) -> None:
    upload = service.store_upload("alice", photo_png)
    record = service.submit("alice", "inpaint", upload.key)
    service.index.set_stage("alice", record.execution_id, state="Inpaint", stage="running inpaint")
    storage.put_json(
        f"results/alice/{record.execution_id}/inpaint/progress.json", {"stage": "inpaint", "done": 1, "total": 2}
    )
    view = service.get_status("alice", record.execution_id)
    assert view.current_state == "Inpaint"
    assert (view.progress.stage, view.progress.done, view.progress.total) == ("inpaint", 1, 2)
    # Steps: ValidateInput, detect-text, inpaint, RecordResult; the third at 15 % + half of its model's 80 %
    # (aiorch.analysis.progress's phases) → (2 + 0.55) / 4, rounded down.
    assert view.progress.percent == 63.7


def test_cancel_stops_the_execution(service, states, photo_png) -> None:
    upload = service.store_upload("alice", photo_png)
    record = service.submit("alice", "upscale", upload.key)
    view = service.cancel("alice", record.execution_id)
    assert states.stopped == [record.execution_arn]
    assert view.status is ExecutionStatus.ABORTED


def test_delete_removes_an_ended_execution_with_its_results_and_keeps_the_upload(service, storage, photo_png) -> None:
    upload = service.store_upload("alice", photo_png)
    record = service.submit("alice", "upscale", upload.key)
    result = f"results/alice/{record.execution_id}/upscale/result.png"
    storage.put_bytes(result, photo_png)
    with pytest.raises(StillRunning, match="cancel it first"):
        service.delete("alice", record.execution_id)
    service.cancel("alice", record.execution_id)
    service.index.finalise(
        "alice", record.execution_id, Outcome(status=ExecutionStatus.ABORTED, recorded_by="StatusChange")
    )
    with pytest.raises(NotFoundError):
        service.delete("bob", record.execution_id)  # someone else's: not found, nothing removed

    service.delete("alice", record.execution_id)
    assert not storage.exists(result)
    assert storage.exists(upload.key)  # another execution may use it
    with pytest.raises(NotFoundError):
        service.get_status("alice", record.execution_id)


def test_history_is_paged_newest_first(service, photo_png) -> None:
    upload = service.store_upload("alice", photo_png)
    ids = [service.submit("alice", "denoise", upload.key).execution_id for _ in range(3)]
    page, cursor = service.list_executions("alice", limit=2)
    assert [v.execution_id for v in page] == ids[::-1][:2]
    rest, end = service.list_executions("alice", limit=2, cursor=cursor)
    assert [v.execution_id for v in rest] == [ids[0]] and end is None


def test_cancel_retries_when_the_service_errors(service, states, photo_png, monkeypatch) -> None:
    upload = service.store_upload("alice", photo_png)
    record = service.submit("alice", "upscale", upload.key)
    answers = iter([500, 500])
    real_stop = states.stop_execution

    def flaky_stop(executionArn: str, **kwargs: Any) -> dict[str, Any]:
        code = next(answers, None)
        if code:
            raise ClientError(
                {"Error": {"Code": "500", "Message": "boom"}, "ResponseMetadata": {"HTTPStatusCode": code}},
                "StopExecution",
            )
        return real_stop(executionArn, **kwargs)

    monkeypatch.setattr(states, "stop_execution", flaky_stop)
    assert service.cancel("alice", record.execution_id).status is ExecutionStatus.ABORTED
    assert states.stopped == [record.execution_arn]


def test_cancel_that_never_lands_is_a_clear_503(service, states, photo_png, monkeypatch) -> None:
    upload = service.store_upload("alice", photo_png)
    record = service.submit("alice", "upscale", upload.key)

    def broken_stop(executionArn: str, **kwargs: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "500"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "StopExecution")

    monkeypatch.setattr(states, "stop_execution", broken_stop)
    monkeypatch.setattr("aiorch.analysis.commands.time.sleep", lambda s: None)
    with pytest.raises(StatesUnavailable, match="did not accept the cancellation"):
        service.cancel("alice", record.execution_id)
