"""DynamoDB cancels a transaction that meets another one on the same item (issue W5).

moto runs transactions one at a time and never answers ``TransactionConflict``, so DynamoDB's
answer is played with botocore's Stubber: ``TransactionCanceledException`` whose
``CancellationReasons`` name ``TransactionConflict``. Such a transaction wrote nothing and may be
sent again (DynamoDB Developer Guide, "Amazon DynamoDB Transactions: How it works", "Transaction
conflict handling in DynamoDB",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling;
API Reference "TransactWriteItems",
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
Before, a submit meeting a recorder on the user's RUNNING_COUNT answered 500 and a recorder meeting
a submit raised, so the state machine's Catch recorded a successful run FAILED.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from aiorch.contracts import ExecutionRecord, ExecutionStatus, Outcome
from aiorch.index import RunningLimitReached
from aiorch.index import dynamodb as module
from aiorch.index.dynamodb import DynamoDbIndex

TABLE = "aiorch-index-test"


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoDbIndex, Stubber, list[float]]]:
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    index = DynamoDbIndex(TABLE, client)
    slept: list[float] = []
    index.sleep = slept.append
    with Stubber(client) as stubber:
        yield index, stubber, slept
        stubber.assert_no_pending_responses()


def cancelled(stubber: Stubber, *codes: str) -> None:
    stubber.add_client_error(
        "transact_write_items",
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(codes)}]",
        400,
        modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]},
    )


def running(execution_id: str = "01JEXAMPLE0000000000000001") -> ExecutionRecord:
    return ExecutionRecord(
        execution_id=execution_id, user="alice", operation="upscale", input_key="uploads/alice/u/o.png"
    )


def test_a_submit_that_conflicts_twice_is_sent_again_and_succeeds(stubbed) -> None:
    index, stubber, slept = stubbed
    cancelled(stubber, "TransactionConflict", "None", "None")
    cancelled(stubber, "None", "TransactionConflict", "None")
    stubber.add_response("transact_write_items", {})

    started = index.start(running(), limit=3, idempotency=("key-1", "fingerprint"))

    assert started.created
    assert len(slept) == 2  # one jittered pause before each new attempt, growing and bounded
    assert 0 <= slept[0] <= module.TRANSACTION_BACKOFF_BASE_S * 2
    assert 0 <= slept[1] <= module.TRANSACTION_BACKOFF_BASE_S * 4


def test_a_recorder_that_conflicts_twice_records_the_success(stubbed) -> None:
    index, stubber, slept = stubbed
    record = running()
    item = {
        "pk": {"S": "USER#alice"},
        "sk": {"S": f"EXEC#{record.execution_id}"},
        "status": {"S": "RUNNING"},
        "doc": {"S": record.model_dump_json()},
    }
    stubber.add_response("get_item", {"Item": item})
    cancelled(stubber, "None", "TransactionConflict")
    cancelled(stubber, "None", "TransactionConflict")
    stubber.add_response("transact_write_items", {})

    done, changed = index.finalise(
        "alice", record.execution_id, Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="RecordResult")
    )

    assert changed and done is not None and done.status is ExecutionStatus.SUCCEEDED
    assert len(slept) == 2


def test_a_failed_condition_is_an_answer_not_retried(stubbed) -> None:
    index, stubber, slept = stubbed
    cancelled(stubber, "ConditionalCheckFailed", "None")
    with pytest.raises(RunningLimitReached):
        index.start(running(), limit=1)
    assert slept == []


def test_the_retries_are_bounded_and_the_last_conflict_is_raised(stubbed) -> None:
    index, stubber, slept = stubbed
    for _ in range(module.TRANSACTION_ATTEMPTS):
        cancelled(stubber, "TransactionConflict", "None")
    with pytest.raises(index.client.exceptions.TransactionCanceledException):
        index.start(running(), limit=3)
    assert len(slept) == module.TRANSACTION_ATTEMPTS - 1
    assert all(0 <= pause <= module.TRANSACTION_BACKOFF_CAP_S for pause in slept)


def test_a_late_create_that_keeps_conflicting_is_not_taken_for_an_existing_record(stubbed) -> None:
    """create() answers False for "exists already"; a conflict is no such answer (the record would be lost)."""
    index, stubber, _ = stubbed
    stubber.add_response("get_item", {})  # no tombstone
    for _ in range(module.TRANSACTION_ATTEMPTS):
        cancelled(stubber, "TransactionConflict", "None")
    with pytest.raises(index.client.exceptions.TransactionCanceledException):
        index.create(running())
