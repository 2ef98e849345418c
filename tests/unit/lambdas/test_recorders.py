"""RecordResult, RecordFailure and the status-change handler finalise the index and write one analytics row."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from aiorch.contracts import AnalysisRequest, ExecutionRecord, ExecutionStatus
from aiorch.index import open_index
from aiorch.settings import get_settings
from aiorch.storage import LocalStorage
from lambdas.record_failure.handler import handler as record_failure
from lambdas.record_result.handler import ResultMissing
from lambdas.record_result.handler import handler as record_result
from lambdas.status_change.handler import handler as status_change
from lambdas.validate_input.validation import validate_request

USER = "alice"
EXEC = "01JEXECUTION0000000000000A"


@pytest.fixture
def state(storage: LocalStorage, settings, photo_png):
    storage.put_bytes(f"uploads/{USER}/u1/original.png", photo_png)
    request = AnalysisRequest(
        execution_id=EXEC, user=USER, operation="inpaint", input_key=f"uploads/{USER}/u1/original.png"
    )
    open_index(get_settings()).create(
        ExecutionRecord(execution_id=EXEC, user=USER, operation="inpaint", input_key=request.input_key)
    )
    validated = validate_request(request, storage, settings)
    return {"request": request.model_dump(mode="json"), "validated": validated.model_dump(mode="json")}


def outcome(state: dict, **extra) -> dict:
    return {
        "input": {**state, **extra},
        "execution_arn": f"arn:aws:states:us-east-1:1:execution:m:{EXEC}",
        "started_at": "2026-11-26T10:00:00.000Z",
    }


def job_metadata(kind: str, seconds: float) -> dict:
    return {
        "operation": kind,
        "model": f"{kind}-model",
        "weights": "w",
        "device": "cpu",
        "precision": "fp32",
        "input": {"width": 64, "height": 64, "bytes": 100},
        "output": {"width": 64, "height": 64, "bytes": 90},
        # As jobs/timing.py's JobClock writes it: the parts, and a total from the spawn that is more than their sum.
        "timings_s": {
            "startup": 0.25,
            "imports": 0.5,
            "decode": 0.01,
            "load_model": 0.125,
            "model": seconds,
            "encode": 0.02,
            "total": seconds + 1.0,
        },
    }


def analytics_rows(storage: LocalStorage) -> list[dict]:
    files = list(storage.list("analytics/results/"))
    return [row for f in files for row in pq.read_table(storage.path(f)).to_pylist()]


def test_record_result_finalises_and_writes_one_row(storage, state) -> None:
    for kind, secs in (("detect-text", 0.5), ("inpaint", 1.5)):
        storage.put_json(f"results/{USER}/{EXEC}/{kind}/metadata.json", job_metadata(kind, secs))
    storage.put_bytes(f"results/{USER}/{EXEC}/inpaint/result.png", b"png")
    out = record_result(outcome(state), None)
    assert out["result_key"] == f"results/{USER}/{EXEC}/inpaint/result.png"
    record = open_index(get_settings()).get(USER, EXEC)
    assert record.status is ExecutionStatus.SUCCEEDED and record.recorded_by == "RecordResult"
    assert record.result_keys == [out["result_key"]]
    (row,) = analytics_rows(storage)
    assert row["status"] == "SUCCEEDED" and row["model"] == "inpaint-model"
    # Explicit figures: job time from each job's total (start-up and imports included), model time
    # from each job's model work only, the parts summed per stage over the two jobs.
    assert row["job_ms"] == 1500 + 2500 and row["model_ms"] == 500 + 1500
    assert json.loads(row["stage_ms_json"]) == {
        "startup": 500,
        "imports": 1000,
        "decode": 20,
        "load_model": 250,
        "model": 2000,
        "encode": 40,
    }
    assert row["user_hash"] != USER and len(row["user_hash"]) == 64
    # Recording again replaces the row, never duplicates it.
    record_result(outcome(state), None)
    assert len(analytics_rows(storage)) == 1


def test_record_result_without_a_result_file_is_a_failure(storage, state) -> None:
    with pytest.raises(ResultMissing, match="wrote no result"):
        record_result(outcome(state), None)
    assert open_index(get_settings()).get(USER, EXEC).status is ExecutionStatus.RUNNING


def test_record_failure_prefers_the_jobs_own_words(storage, state) -> None:
    storage.put_json(
        f"results/{USER}/{EXEC}/detect-text/error.json",
        {"type": "ImageDecodeError", "message": "the image is truncated"},
    )
    batch_cause = json.dumps({"JobName": f"{EXEC}-detect-text", "Status": "FAILED", "StatusReason": "exit 1"})
    out = record_failure(outcome(state, error={"Error": "States.TaskFailed", "Cause": batch_cause}), None)
    assert out == {
        "status": "FAILED",
        "error_type": "ImageDecodeError",
        "message": "detect-text: the image is truncated",
    }
    record = open_index(get_settings()).get(USER, EXEC)
    assert record.status is ExecutionStatus.FAILED and record.error_message == out["message"]
    (row,) = analytics_rows(storage)
    assert row["status"] == "FAILED" and row["error_type"] == "ImageDecodeError"


def test_record_failure_of_a_job_that_left_no_error_json_says_what_is_known(storage, state) -> None:
    """Killed (here locally, out of memory): the job's description is all there is, and it is shown."""
    from aiorch.job_exit import local_job_end_reason

    described = {  # the .sync task's cause: the failed job's DescribeJobs entry
        "JobName": f"{EXEC}-detect-text",
        "Status": "FAILED",
        "StatusReason": local_job_end_reason(-9, 1),
        "Container": {"Command": ["detect-text", "--input", "file:///x"], "ExitCode": -9},
    }
    cause = json.dumps(described)
    out = record_failure(outcome(state, error={"Error": "States.TaskFailed", "Cause": cause}), None)
    assert out["error_type"] == "OutOfMemory"
    assert out["message"].startswith("detect-text: the job ended without reporting an error: OutOfMemoryError: ")
    assert "killed by SIGKILL (signal 9)" in out["message"] and "exit code -9" not in out["message"]
    assert open_index(get_settings()).get(USER, EXEC).error_message == out["message"]


def test_record_failure_of_validation_uses_the_lambda_error(storage, state) -> None:
    cause = json.dumps({"errorMessage": "unknown operation 'x'", "errorType": "InvalidRequest"})
    out = record_failure(
        outcome({"request": state["request"]}, error={"Error": "InvalidRequest", "Cause": cause}), None
    )
    assert out["error_type"] == "InvalidRequest" and out["message"] == "unknown operation 'x'"


def status_event(status: str, **detail) -> dict:
    return {  # a whole EventBridge event: the handler parses it with powertools' EventBridgeEnvelope
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-11-26T10:00:05Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:states:us-east-1:1:execution:m:{EXEC}"],
        "detail": {
            "executionArn": f"arn:aws:states:us-east-1:1:execution:m:{EXEC}",
            "status": status,
            "startDate": 1764150000000,
            "stopDate": 1764150005000,
            **detail,
        },
    }


def test_status_change_records_a_stopped_execution_once(storage, state) -> None:
    event = status_event("ABORTED", input=json.dumps({"request": state["request"]}))
    out = status_change(event, None)
    assert out["recorded"] is True and out["status"] == "ABORTED"
    record = open_index(get_settings()).get(USER, EXEC)
    assert record.status is ExecutionStatus.ABORTED and record.error_message == "the execution was stopped"
    assert analytics_rows(storage)[0]["status"] == "ABORTED"
    assert status_change(event, None)["recorded"] is False  # already final: first writer wins


def test_status_change_leaves_recorded_failures_alone(storage, state) -> None:
    record_failure(outcome(state, error={"Error": "States.Timeout", "Cause": "too slow"}), None)
    out = status_change(status_event("FAILED", input=json.dumps({"request": state["request"]})), None)
    assert out["recorded"] is False
    assert open_index(get_settings()).get(USER, EXEC).recorded_by == "RecordFailure"


@pytest.mark.parametrize("status", ["SUCCEEDED", "RUNNING", "NONSENSE"])
def test_status_change_ignores_what_the_state_machine_records(storage, state, status) -> None:
    assert (
        status_change(status_event(status, input=json.dumps({"request": state["request"]})), None)["recorded"] is False
    )


def test_status_change_for_an_unknown_input_is_ignored(storage) -> None:
    assert status_change(status_event("FAILED", input=json.dumps({"other": 1})), None)["recorded"] is False


def test_interrupted_executions_get_a_record_and_a_row(storage, state) -> None:
    out = status_change(status_event("INTERRUPTED", input={"request": state["request"]}), None)
    assert out["recorded"] is True
    assert open_index(get_settings()).get(USER, EXEC).status is ExecutionStatus.INTERRUPTED
    assert analytics_rows(storage)[0]["status"] == "INTERRUPTED"


def test_an_event_without_input_is_recorded_from_the_running_index_record(storage, state) -> None:
    out = status_change(status_event("INTERRUPTED", name=EXEC), None)
    assert out["recorded"] is True
    record = open_index(get_settings()).get(USER, EXEC)
    assert record.status is ExecutionStatus.INTERRUPTED and record.recorded_by == "StatusChange"
    assert open_index(get_settings()).running_count(USER) == 0


def test_a_late_recorder_never_contradicts_the_first(storage, state) -> None:
    status_change(status_event("ABORTED", input=json.dumps({"request": state["request"]})), None)
    record_failure(outcome(state, error={"Error": "States.TaskFailed", "Cause": "{}"}), None)
    assert open_index(get_settings()).get(USER, EXEC).status is ExecutionStatus.ABORTED
    assert [row["status"] for row in analytics_rows(storage)] == ["ABORTED"]


def test_both_recorders_run_the_one_handler_body_in_lambdas_records() -> None:
    import lambdas.record_failure.handler as failure_module
    import lambdas.record_result.handler as result_module

    assert result_module.handler.recorder is result_module.record_result
    assert failure_module.handler.recorder is failure_module.record_failure
    # Both are made by lambdas.records.recorder_handler: under powertools' wrapper, one code object.
    assert result_module.handler.__wrapped__.__code__ is failure_module.handler.__wrapped__.__code__


def test_a_scheduled_event_sweeps_the_running_counts(storage, state) -> None:
    index = open_index(get_settings())
    with index._write() as db:  # type: ignore[attr-defined]  # drift, as a crash between writes would leave
        db.execute("UPDATE running_counts SET running = 3 WHERE user = ?", (USER,))
    scheduled = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-26T10:15:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/aiorch-index-sweep"],
        "detail": {},
    }
    out = status_change(scheduled, None)
    assert out["corrected"] == [{"user": USER, "counted": 3, "actual": 1}]
    assert index.running_count(USER) == 1


def test_the_scheduled_event_also_compacts_the_closed_days_analytics(storage: LocalStorage) -> None:
    from datetime import UTC, datetime, timedelta

    from aiorch.analytics.records import AnalyticsRow, write_row

    yesterday = datetime.now(UTC) - timedelta(days=1)
    for i in range(3):
        write_row(storage, AnalyticsRow(execution_id=f"E{i}", operation="upscale", status="SUCCEEDED",
                                        started_at=yesterday))  # fmt: skip
    scheduled = {"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "123456789012", "time": "2026-11-26T10:15:00Z", "region": "us-east-1",
                 "resources": [], "detail": {}}  # fmt: skip

    out = status_change(scheduled, None)

    assert out["compacted"] == {"folders": 1, "files_in": 3, "rows_out": 3}
    names = [k.rsplit("/", 1)[1] for k in storage.list("analytics/results/") if k.endswith(".parquet")]
    assert len(names) == 1 and names[0].startswith("compacted-")
