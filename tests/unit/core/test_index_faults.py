"""Faults around the index and storage: a full disk leaves no partial file; a cancelled execution
that the workflow service no longer knows is recorded ABORTED."""

from __future__ import annotations

import errno
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aiorch.analysis import AnalysisService
from aiorch.contracts import ExecutionStatus
from aiorch.storage import LocalStorage


def test_a_failed_write_leaves_no_temp_file(storage: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    storage.put_bytes("results/alice/e/upscale/result.png", b"old")
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    for write in (storage.put_bytes, storage.put_if_absent):
        with pytest.raises(OSError) as failed:
            write("results/alice/e/upscale/result.png", b"x" * 10_000)
        assert failed.value.errno == errno.ENOSPC
    monkeypatch.setattr(os, "fsync", real_fsync)
    folder = storage.path("results/alice/e/upscale/")
    assert sorted(p.name for p in folder.iterdir()) == ["result.png"]  # no .tmp-* left behind
    assert storage.get_bytes("results/alice/e/upscale/result.png") == b"old"  # nothing half-written


class ForgetfulStates:
    """A workflow service restarted since the execution began: it knows no execution."""

    def start_execution(self, **kwargs: Any) -> dict[str, str]:
        return {"executionArn": "arn"}

    def stop_execution(self, **kwargs: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "ExecutionDoesNotExist", "Message": "no such"}}, "StopExecution")

    def describe_execution(self, **kwargs: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "ExecutionDoesNotExist", "Message": "no such"}}, "DescribeExecution")

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "ExecutionDoesNotExist", "Message": "no such"}}, "GetExecutionHistory")


def test_cancelling_an_execution_the_service_forgot_records_it_aborted(settings, storage, photo_png) -> None:
    service = AnalysisService(settings, storage=storage, states_client=ForgetfulStates())
    upload = service.store_upload("alice", photo_png)
    record = service.submit("alice", "upscale", upload.key)
    assert service.index.running_count("alice") == 1

    view = service.cancel("alice", record.execution_id)

    assert view.status is ExecutionStatus.ABORTED and view.error is not None
    stored = service.index.get("alice", record.execution_id)
    assert stored is not None and stored.status is ExecutionStatus.ABORTED and stored.recorded_by == "cancel"
    assert service.index.running_count("alice") == 0


def test_a_history_no_one_kept_is_said_to_be_missing_not_empty(settings, storage, photo_png) -> None:
    from aiorch.analysis import NotFoundError

    service = AnalysisService(settings, storage=storage, states_client=ForgetfulStates())
    record = service.submit("alice", "upscale", service.store_upload("alice", photo_png).key)
    with pytest.raises(NotFoundError, match="no longer kept"):
        service.history("alice", record.execution_id)


def test_a_history_stored_before_a_restart_is_read_back(settings, storage, photo_png) -> None:
    from datetime import UTC, datetime

    from aiorch.index.history import store_history

    service = AnalysisService(settings, storage=storage, states_client=ForgetfulStates())
    record = service.submit("alice", "upscale", service.store_upload("alice", photo_png).key)
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    events = [
        {"id": 1, "type": "ExecutionStarted", "timestamp": at},
        {"id": 2, "type": "TaskStateEntered", "timestamp": at, "stateEnteredEventDetails": {"name": "Upscale"}},
    ]
    store_history(storage, "alice", record.execution_id, {"status": "RUNNING", "startDate": at}, events)
    assert service.history("alice", record.execution_id) == events  # times come back as datetimes


def test_a_states_service_that_is_down_is_a_503_with_the_reason(settings, storage, photo_png) -> None:
    from botocore.exceptions import EndpointConnectionError

    from aiorch.analysis import StatesUnavailable

    class DownStates(ForgetfulStates):
        def describe_execution(self, **kwargs: Any) -> dict[str, Any]:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    service = AnalysisService(settings, storage=storage, states_client=DownStates())
    record = service.submit("alice", "upscale", service.store_upload("alice", photo_png).key)
    with pytest.raises(StatesUnavailable, match="down"):
        service.history("alice", record.execution_id)


def test_a_full_disk_is_a_507_for_upload_and_submit(settings, storage, photo_png, monkeypatch) -> None:
    import errno as errno_codes
    import sqlite3

    from aiorch.analysis import AnalysisService
    from aiorch.analysis.errors import StorageFull

    service = AnalysisService(settings, storage=storage, states_client=ForgetfulStates())
    key = service.store_upload("alice", photo_png).key

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno_codes.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "put_bytes", full)
    with pytest.raises(StorageFull) as refused:
        service.store_upload("alice", photo_png)
    assert refused.value.status_code == 507

    def full_index(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(service.index, "start", full_index)
    with pytest.raises(StorageFull, match="nothing was started"):
        service.submit("alice", "upscale", key)


def test_a_failed_interrupted_report_is_retried_and_carries_the_input(settings) -> None:
    import json

    from aiorch.contracts import ExecutionRecord
    from workflows.local.watchdog import Watchdog

    calls: list[dict[str, Any]] = []

    def flaky_handler(event: dict[str, Any], context: Any) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("database is locked")

    watchdog = Watchdog(settings, runner=None, states=None, status_change=flaky_handler)  # type: ignore[arg-type]
    record = ExecutionRecord(
        execution_id="01JINTERRUPTED000000000000", user="alice", operation="upscale", input_key="k"
    )
    pending = watchdog.report_interrupted([record])
    assert pending == [record]
    assert watchdog.report_interrupted(pending) == []
    assert len(calls) == 2
    assert json.loads(calls[1]["detail"]["input"])["request"]["user"] == "alice"
