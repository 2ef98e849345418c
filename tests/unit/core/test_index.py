"""The execution index: the same rules on SQLite (local) and DynamoDB (moto), plus the JSON migration."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from aiorch.contracts import ExecutionRecord, ExecutionStatus, Outcome
from aiorch.ids import new_id
from aiorch.index import ExecutionIndex, IdempotencyKeyReused, RunningLimitReached, StillRunning, open_index
from aiorch.index.dynamodb import DynamoDbIndex, table_definition
from aiorch.index.sqlite import SqliteIndex
from aiorch.storage import LocalStorage

TABLE = "aiorch-index-test"


@pytest.fixture
def dynamodb() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition(TABLE))
        yield client


@pytest.fixture(params=["sqlite", "dynamodb"])
def index(request: pytest.FixtureRequest, tmp_path) -> ExecutionIndex:
    if request.param == "sqlite":
        return SqliteIndex(tmp_path / "index.sqlite3")
    return DynamoDbIndex(TABLE, request.getfixturevalue("dynamodb"))


def record(user: str = "alice", execution_id: str | None = None, **extra: object) -> ExecutionRecord:
    return ExecutionRecord(
        execution_id=execution_id or new_id(),
        user=user,
        operation="upscale",
        input_key=f"uploads/{user}/u/o.png",
        **extra,
    )


def test_start_counts_and_refuses_past_the_limit(index: ExecutionIndex) -> None:
    first, second = record(), record()
    assert index.start(first, limit=2).created
    assert index.start(second, limit=2).created
    refused = record()
    with pytest.raises(RunningLimitReached):
        index.start(refused, limit=2)
    assert index.get("alice", refused.execution_id) is None  # nothing written
    assert index.running_count("alice") == 2
    assert index.start(record("bob"), limit=2).created  # the limit is per user

    done, changed = index.finalise(
        "alice", first.execution_id, Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="RecordResult")
    )
    assert changed and done is not None and done.status is ExecutionStatus.SUCCEEDED
    assert index.running_count("alice") == 1
    assert index.start(record(), limit=2).created


def test_finalise_is_first_writer_wins_and_counts_once(index: ExecutionIndex) -> None:
    started = record()
    index.start(started, limit=4)
    index.finalise("alice", started.execution_id, Outcome(status=ExecutionStatus.ABORTED, recorded_by="StatusChange"))
    again, changed = index.finalise(
        "alice",
        started.execution_id,
        Outcome(status=ExecutionStatus.FAILED, recorded_by="RecordFailure", error_type="X"),
    )
    assert not changed and again is not None and again.status is ExecutionStatus.ABORTED
    assert index.running_count("alice") == 0
    assert index.finalise(
        "alice", "01NOSUCHEXECUTION000000000", Outcome(status=ExecutionStatus.FAILED, recorded_by="x")
    ) == (
        None,
        False,
    )


def test_a_repeated_idempotency_key_finds_its_execution(index: ExecutionIndex) -> None:
    first = record()
    assert index.start(first, limit=1, idempotency=("k1", "fp")).created
    # Even at the limit, the repeat answers with the first execution rather than a refusal.
    again = index.start(record(), limit=1, idempotency=("k1", "fp"))
    assert not again.created and again.record.execution_id == first.execution_id
    with pytest.raises(IdempotencyKeyReused):
        index.start(record(), limit=5, idempotency=("k1", "other"))
    assert index.running_count("alice") == 1
    assert index.start(record("bob"), limit=1, idempotency=("k1", "fp")).created  # keys are per user


def test_pages_newest_first_by_key(index: ExecutionIndex) -> None:
    ids = [new_id() for _ in range(7)]
    for execution_id in ids:
        index.create(record(execution_id=execution_id, status=ExecutionStatus.SUCCEEDED))
    index.create(record("bob", status=ExecutionStatus.SUCCEEDED))
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = index.page("alice", 3, before=cursor)
        assert len(page) <= 3
        seen += [r.execution_id for r in page]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


def test_running_lists_only_running_records_and_sweep_corrects_drift(index: ExecutionIndex) -> None:
    live, ended = record(), record()
    index.start(live, limit=4)
    index.start(ended, limit=4)
    index.finalise("alice", ended.execution_id, Outcome(status=ExecutionStatus.FAILED, recorded_by="RecordFailure"))
    assert [r.execution_id for r in index.running()] == [live.execution_id]
    assert index.sweep() == []
    # A record created RUNNING outside start() is counted; one written behind the index's back is not.
    skewed = record("carol")
    if isinstance(index, SqliteIndex):
        with index._write() as db:
            db.execute(
                "INSERT INTO executions VALUES (?, ?, 'RUNNING', ?)",
                (skewed.user, skewed.execution_id, skewed.model_dump_json()),
            )
    else:
        from aiorch.index.dynamodb import _record_item

        index.client.put_item(TableName=index.table, Item=_record_item(skewed))
    (drift,) = index.sweep()
    assert (drift.user, drift.counted, drift.actual) == ("carol", 0, 1)
    assert index.running_count("carol") == 1
    assert index.sweep() == []


def test_concurrent_starts_never_pass_the_limit_sqlite(tmp_path) -> None:
    path = tmp_path / "index.sqlite3"
    SqliteIndex(path)
    created: list[str] = []
    refused: list[str] = []
    barrier = threading.Barrier(12)

    def submit() -> None:
        own = SqliteIndex(path)  # its own connection, as another process would have
        barrier.wait()
        try:
            created.append(own.start(record(), limit=4).record.execution_id)
        except RunningLimitReached:
            refused.append("x")

    threads = [threading.Thread(target=submit) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(created) == 4 and len(refused) == 8
    assert SqliteIndex(path).running_count("alice") == 4


def test_dynamodb_condition_failure_is_too_many_running(dynamodb, settings, storage, photo_png, monkeypatch) -> None:
    """Through the application service: the counter's condition failing is a 429, and nothing is started."""
    from aiorch.analysis import AnalysisService, TooManyRunning
    from aiorch.settings import Settings

    dynamo_settings = Settings(
        data_dir=settings.data_dir, index_url=f"dynamodb://{TABLE}", max_running_executions_per_user=2
    )
    started: list[str] = []

    class States:
        def start_execution(self, **kwargs: object) -> dict[str, str]:
            started.append(str(kwargs["name"]))
            return {"executionArn": "arn"}

    service = AnalysisService(dynamo_settings, storage=storage, states_client=States())
    assert isinstance(service.index, DynamoDbIndex)
    upload = service.store_upload("alice", photo_png)
    service.submit("alice", "upscale", upload.key)
    service.submit("alice", "upscale", upload.key)
    with pytest.raises(TooManyRunning):
        service.submit("alice", "upscale", upload.key)
    assert len(started) == 2
    page, _ = service.index.page("alice", 10)
    assert len(page) == 2 and all(r.status is ExecutionStatus.RUNNING for r in page)


def test_old_json_records_are_migrated_on_first_start(settings) -> None:
    storage = LocalStorage(settings.resolved_storage_url)
    old_running = record(execution_id="01JOLD0000000000000000000A")
    old_done = record(execution_id="01JOLD0000000000000000000B", status=ExecutionStatus.SUCCEEDED)
    for r in (old_running, old_done):
        storage.put_bytes(f"executions/alice/{r.execution_id}.json", r.model_dump_json(indent=1).encode())
    storage.put_bytes(
        "idempotency/alice/key-1.json", b'{"execution_id": "01JOLD0000000000000000000B", "fingerprint": "fp"}'
    )
    index = open_index(settings, storage)
    page, _ = index.page("alice", 10)
    assert [r.execution_id for r in page] == [old_done.execution_id, old_running.execution_id]
    assert index.running_count("alice") == 1
    again = index.start(record(), limit=4, idempotency=("key-1", "fp"))
    assert not again.created and again.record.execution_id == old_done.execution_id
    # A second opening (another process, a restart) copies nothing twice.
    assert SqliteIndex(settings.resolved_index_url).migrate_json_records(storage) == 0


def test_delete_removes_an_ended_record_and_its_claim_and_nothing_brings_it_back(index: ExecutionIndex) -> None:
    running = record(idempotency_key="key-1")  # as the service writes it
    index.start(running, limit=4, idempotency=("key-1", "fp"))
    with pytest.raises(StillRunning):  # a running execution is cancelled first, never deleted
        index.delete("alice", running.execution_id)
    assert index.get("alice", running.execution_id) is not None
    index.finalise("alice", running.execution_id, Outcome(status=ExecutionStatus.ABORTED, recorded_by="cancel"))
    kept = record()
    index.start(kept, limit=4)

    removed = index.delete("alice", running.execution_id)
    assert removed is not None and removed.execution_id == running.execution_id
    assert index.get("alice", running.execution_id) is None
    assert [r.execution_id for r in index.page("alice", 10)[0]] == [kept.execution_id]
    assert index.delete("alice", running.execution_id) is None  # a second delete finds nothing
    # A recorder or status change arriving late (ensure_record's create) does not resurrect it.
    assert not index.create(running.model_copy(update={"status": ExecutionStatus.SUCCEEDED}))
    assert index.get("alice", running.execution_id) is None
    # Its Idempotency-Key claim went with it: the key starts a new execution.
    again = record(idempotency_key="key-1")
    assert index.start(again, limit=4, idempotency=("key-1", "fp")).created
    assert index.running_count("alice") == 2  # kept and again; the deleted one never counted twice


def test_set_stage_moves_a_running_record_and_never_an_ended_one(index: ExecutionIndex) -> None:
    """Where an execution is, written by its steps (aiorch/index/stages.py); a status poll reads it."""
    running = record()
    index.start(running, limit=5)
    assert index.set_stage("alice", running.execution_id, state="Upscale", stage="queued for a GPU")
    assert index.set_stage("alice", running.execution_id, state="Upscale", stage="running upscale")
    stored = index.get("alice", running.execution_id)
    assert stored is not None and (stored.current_state, stored.stage) == ("Upscale", "running upscale")
    assert stored.stage_at is not None and stored.status is ExecutionStatus.RUNNING
    assert index.running_count("alice") == 1  # a stage is no new execution

    index.finalise("alice", running.execution_id, Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="RecordResult"))
    assert not index.set_stage("alice", running.execution_id, state="Upscale", stage="running upscale")
    assert index.get("alice", running.execution_id).status is ExecutionStatus.SUCCEEDED
    assert not index.set_stage("alice", "missing", state="Upscale", stage="running upscale")


def test_start_bounds_the_queued_images_per_user_and_overall(index: ExecutionIndex) -> None:
    from aiorch.index import QueueBounds, QueueFull

    bounds = QueueBounds(per_user=3, overall=4)
    batch = record(input_keys=["uploads/alice/u/o.png"] * 2)
    assert index.start(batch, limit=10, queue=bounds).created
    with pytest.raises(QueueFull) as full:
        index.start(record(input_keys=["uploads/alice/u/o.png"] * 2), limit=10, queue=bounds)
    assert (full.value.scope, full.value.queued, full.value.limit) == ("user", 2, 3)
    assert index.start(record(), limit=10, queue=bounds).created  # 3 of alice's 3
    assert index.start(record("bob"), limit=10, queue=bounds).created  # 4 of everyone's 4
    with pytest.raises(QueueFull) as full:
        index.start(record("carol"), limit=10, queue=bounds)
    assert (full.value.scope, full.value.queued) == ("all", 4)
    assert index.running_count("carol") == 0 and index.queued_images() == 4  # nothing written
    with pytest.raises(RunningLimitReached):  # the running limit is still its own answer
        index.start(record("bob"), limit=1, queue=bounds)

    index.finalise("alice", batch.execution_id, Outcome(status=ExecutionStatus.FAILED, recorded_by="RecordFailure"))
    assert index.queued_images("alice") == 1 and index.queued_images() == 2
    assert index.start(record("carol"), limit=10, queue=bounds).created
    assert index.sweep() == [] and index.queued_images() == 3
