"""Idempotency-Key claims and tombstones carry the table's TTL attribute (issue H6).

DynamoDB deletes an item once the Number attribute named in the table's TTL setting (epoch seconds)
is in the past ("Using time to live (TTL) in DynamoDB",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html). moto stores the
attribute but never expires anything, so this checks what is written, and that Terraform's ``ttl``
block names the same attribute (its being enabled is asserted by iac/modules/index's terraform test).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from aiorch.contracts import ExecutionRecord, ExecutionStatus, Outcome
from aiorch.index.dynamodb import (
    IDEMPOTENCY_TTL_S,
    TOMBSTONE_TTL_S,
    TTL_ATTRIBUTE,
    DynamoDbIndex,
    table_definition,
)

TABLE = "aiorch-index-test"
INDEX_MODULE = Path(__file__).resolve().parents[3] / "iac" / "modules" / "index" / "main.tf"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition(TABLE))
        yield client


def item(client: Any, sk: str) -> dict[str, Any]:
    found = client.get_item(TableName=TABLE, Key={"pk": {"S": "USER#alice"}, "sk": {"S": sk}}).get("Item")
    assert found is not None, sk
    return dict(found)


def test_claims_and_tombstones_expire_records_and_counters_do_not(dynamodb: Any) -> None:
    index = DynamoDbIndex(TABLE, dynamodb)
    record = ExecutionRecord(
        execution_id="01JEXAMPLE0000000000000001",
        user="alice",
        operation="upscale",
        input_key="uploads/alice/u/o.png",
        idempotency_key="key-1",
    )
    before = int(time.time())
    index.start(record, limit=3, idempotency=("key-1", "fingerprint"))
    claim = item(dynamodb, "IDEM#key-1")
    assert before + IDEMPOTENCY_TTL_S <= int(claim[TTL_ATTRIBUTE]["N"]) <= int(time.time()) + IDEMPOTENCY_TTL_S
    assert TTL_ATTRIBUTE not in item(dynamodb, f"EXEC#{record.execution_id}")
    assert TTL_ATTRIBUTE not in item(dynamodb, "RUNNING_COUNT")

    index.finalise("alice", record.execution_id, Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="RecordResult"))
    before = int(time.time())
    index.delete("alice", record.execution_id)
    tombstone = item(dynamodb, f"GONE#{record.execution_id}")
    assert before + TOMBSTONE_TTL_S <= int(tombstone[TTL_ATTRIBUTE]["N"]) <= int(time.time()) + TOMBSTONE_TTL_S


def test_a_tombstone_outlives_the_dead_letter_queue_a_late_recorder_may_come_from() -> None:
    lambdas = (INDEX_MODULE.parents[1] / "lambdas" / "main.tf").read_text(encoding="utf-8")
    retention = max(int(s) for s in re.findall(r"message_retention_seconds\s*=\s*(\d+)", lambdas))
    assert retention < TOMBSTONE_TTL_S


def test_terraforms_ttl_names_the_attribute_the_code_writes() -> None:
    block = re.search(r"ttl\s*\{([^}]*)\}", INDEX_MODULE.read_text(encoding="utf-8"))
    assert block is not None, "iac/modules/index/main.tf has no ttl block"
    assert re.search(rf'attribute_name\s*=\s*"{TTL_ATTRIBUTE}"', block.group(1))
    assert re.search(r"enabled\s*=\s*true", block.group(1))
