"""The execution index in AWS: one DynamoDB table (iac/modules/index).

Items, all in the user's partition ``pk = USER#<user>``:

- ``sk = EXEC#<execution id>``: the record (``doc``, JSON), its ``status``, and ``live = RUNNING``
  while it runs (a sparse attribute, so the ``live`` index holds only running records and counters);
- ``sk = RUNNING_COUNT``: the user's running count (``running``), ``live = COUNTER``;
- ``sk = IDEM#<key>``: an Idempotency-Key claim (execution id, fingerprint);
- ``sk = GONE#<execution id>``: the tombstone of a record its user deleted (``create`` refuses the id);
- ``sk = SPEND#<YYYY-MM>``: what the user's runs of that UTC month cost (``nano_usd``): ``start`` adds a run's
  estimate under the condition that it fits the budget, ``finalise`` replaces the estimate by the cost.

Claims and tombstones carry ``expires_at`` (Unix seconds), the table's TTL attribute
(iac/modules/index ``ttl``), so DynamoDB deletes them once they can matter no more; records and
counters have none.

The count changes only inside TransactWriteItems that also create a RUNNING record (with the
condition ``running < limit`` on the counter) or move one to a final status; a history page is one
Query on the partition's key range, so its cost does not grow with the user's history.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from aiorch.contracts import ExecutionRecord, ExecutionStatus, Outcome, utcnow
from aiorch.index.base import (
    BUDGET_SLACK_USD,
    Budget,
    BudgetSpent,
    Drift,
    ExecutionIndex,
    IdempotencyKeyReused,
    QueueBounds,
    QueueFull,
    RunningLimitReached,
    Started,
    StillRunning,
    finalised_copy,
    images_of,
    spend_adjustment,
    staged_copy,
)
from aiorch.pricing import month_of

log = logging.getLogger("aiorch.index")

COUNTER_SK = "RUNNING_COUNT"
LIVE_INDEX = "live"
RUNNING = ExecutionStatus.RUNNING.value

# A transaction cancelled because another one touched one of its items at the same time (reason
# ``TransactionConflict``) wrote nothing and may simply be sent again; DynamoDB leaves that to the
# caller (DynamoDB Developer Guide, "Amazon DynamoDB Transactions: How it works", "Transaction
# conflict handling in DynamoDB",
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling;
# API Reference, "TransactWriteItems", TransactionCanceledException,
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
# botocore's retries do not cover it: TransactionCanceledException is not a retryable error there.
# A user's submits and their executions' recorders all update the one RUNNING_COUNT item, so
# conflicts are expected under load; full-jitter backoff spreads the retries.
# DynamoDB's TTL attribute (a Number of epoch seconds; "Using time to live (TTL) in DynamoDB",
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html). Deletion is lazy (usually
# within a few days of expiry), and an expired item is still read until then: a claim still answers
# with its execution, a tombstone still refuses its id; both are the safe answers.
TTL_ATTRIBUTE = "expires_at"
# A client repeats a request with its Idempotency-Key within minutes; a week is generous.
IDEMPOTENCY_TTL_S = 7 * 24 * 3600
# A tombstone must outlive every late recorder: the status-change event is retried, then kept 14 days
# in its dead-letter queue (iac/modules/lambdas) and may be redriven from there.
TOMBSTONE_TTL_S = 30 * 24 * 3600

TRANSACTION_ATTEMPTS = 6
TRANSACTION_BACKOFF_BASE_S = 0.025
TRANSACTION_BACKOFF_CAP_S = 1.0


def _pk(user: str) -> dict[str, str]:
    return {"S": f"USER#{user}"}


def _exec_key(user: str, execution_id: str) -> dict[str, Any]:
    return {"pk": _pk(user), "sk": {"S": f"EXEC#{execution_id}"}}


def _tombstone_key(user: str, execution_id: str) -> dict[str, Any]:
    return {"pk": _pk(user), "sk": {"S": f"GONE#{execution_id}"}}


def _counter_key(user: str) -> dict[str, Any]:
    return {"pk": _pk(user), "sk": {"S": COUNTER_SK}}


def _spend_key(user: str, month: str) -> dict[str, Any]:
    return {"pk": _pk(user), "sk": {"S": f"SPEND#{month}"}}


# Spending is kept in whole nano-dollars: integers add exactly in any backend (moto's decimals turn
# into exponent forms it cannot add again), and a nano-dollar is far below any price per second.
NANO = 1_000_000_000


def _nano_usd(value: float) -> dict[str, str]:
    return {"N": str(round(value * NANO))}


# Everyone's queued images (images of RUNNING executions), one item; a user's are ``images`` on their
# counter item. No ``live`` attribute: the sweep's counter query does not see it.
TOTAL_KEY: dict[str, Any] = {"pk": {"S": "QUEUE"}, "sk": {"S": "TOTAL_IMAGES"}}


def _record_item(record: ExecutionRecord) -> dict[str, Any]:
    item = {
        **_exec_key(record.user, record.execution_id),
        "status": {"S": record.status.value},
        "doc": {"S": record.model_dump_json()},
    }
    if record.status is ExecutionStatus.RUNNING:
        item["live"] = {"S": RUNNING}
    return item


def _reasons(exc: ClientError) -> list[str]:
    return [str(r.get("Code") or "None") for r in exc.response.get("CancellationReasons") or []]


def _expires_at(ttl_s: int) -> dict[str, str]:
    return {"N": str(int(time.time()) + ttl_s)}


def _conflicted(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "TransactionCanceledException" and "TransactionConflict" in _reasons(exc)


def table_definition(table: str) -> dict[str, Any]:
    """CreateTable arguments matching iac/modules/index (used by tests and the benchmark on moto)."""
    return {
        "TableName": table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "live", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": LIVE_INDEX,
                "KeySchema": [
                    {"AttributeName": "live", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


class DynamoDbIndex(ExecutionIndex):
    def __init__(self, table: str, client: Any = None, *, region: str | None = None, endpoint_url: str | None = None):
        if client is None:
            import boto3

            client = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url)
        self.table = table
        self.client = client
        self.sleep: Callable[[float], None] = time.sleep

    def _transact(self, items: list[dict[str, Any]]) -> None:
        """TransactWriteItems, sent again (bounded, jittered) while DynamoDB cancels it for a
        TransactionConflict; any other cancellation, or the last conflict, is raised to the caller."""
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                self.client.transact_write_items(TransactItems=items)
                return
            except ClientError as exc:
                if not _conflicted(exc) or attempt == TRANSACTION_ATTEMPTS:
                    raise
                delay = random.uniform(0, min(TRANSACTION_BACKOFF_CAP_S, TRANSACTION_BACKOFF_BASE_S * 2**attempt))
                log.info(
                    "transaction conflict (attempt %d of %d): again in %.3f s", attempt, TRANSACTION_ATTEMPTS, delay
                )
                self.sleep(delay)

    # --- writes -----------------------------------------------------------------------------
    def _counter_update(
        self, user: str, delta: int, condition: str | None, values: dict[str, Any], images: int = 0
    ) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": _counter_key(user),
            "UpdateExpression": "SET running = if_not_exists(running, :zero) + :delta, "
            "images = if_not_exists(images, :zero) + :images, live = :counter",
            "ExpressionAttributeValues": {
                ":zero": {"N": "0"},
                ":delta": {"N": str(delta)},
                ":images": {"N": str(images)},
                ":counter": {"S": "COUNTER"},
                **values,
            },
        }
        if condition:
            update["ConditionExpression"] = condition
        return {"Update": update}

    def _total_update(self, images: int, bound: int = 0) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": TOTAL_KEY,
            "UpdateExpression": "SET images = if_not_exists(images, :zero) + :images",
            "ExpressionAttributeValues": {":zero": {"N": "0"}, ":images": {"N": str(images)}},
        }
        if bound > 0:
            update["ConditionExpression"] = "attribute_not_exists(images) OR images <= :room"
            update["ExpressionAttributeValues"][":room"] = {"N": str(bound - images)}
        return {"Update": update}

    def _spend_update(self, user: str, month: str, usd: float, limit_usd: float = 0.0) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": _spend_key(user, month),
            "UpdateExpression": "SET nano_usd = if_not_exists(nano_usd, :zero) + :usd",
            "ExpressionAttributeValues": {":zero": {"N": "0"}, ":usd": _nano_usd(usd)},
        }
        if limit_usd > 0:
            # What was spent must leave room for this run: spent + estimate <= limit.
            update["ConditionExpression"] = "attribute_not_exists(nano_usd) OR nano_usd <= :room"
            update["ExpressionAttributeValues"][":room"] = _nano_usd(limit_usd - usd + BUDGET_SLACK_USD)
        return {"Update": update}

    def start(
        self,
        record: ExecutionRecord,
        *,
        limit: int,
        idempotency: tuple[str, str] | None = None,
        queue: QueueBounds | None = None,
        budget: Budget | None = None,
    ) -> Started:
        if record.status is not ExecutionStatus.RUNNING:
            raise ValueError("start creates RUNNING records only")
        if budget is None and record.estimated_cost_usd:
            raise ValueError("a record with an estimate is charged to a budget month: pass budget")
        estimate = record.estimated_cost_usd or 0.0
        if budget is not None and budget.limit_usd > 0 and estimate > budget.limit_usd + BUDGET_SLACK_USD:
            # More than the whole month's budget: no transaction can admit it.
            spent = self.spent_usd(record.user, budget.month)
            raise BudgetSpent(record.user, budget.month, spent, estimate, budget.limit_usd)
        queue = queue or QueueBounds()
        n = images_of(record)
        condition, values = "(attribute_not_exists(running) OR running < :limit)", {":limit": {"N": str(limit)}}
        if queue.per_user > 0:
            condition += " AND (attribute_not_exists(images) OR images <= :room)"
            values[":room"] = {"N": str(queue.per_user - n)}
        items: list[dict[str, Any]] = [
            self._counter_update(record.user, 1, condition, values, images=n),
            {
                "Put": {
                    "TableName": self.table,
                    "Item": _record_item(record),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        if idempotency is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {
                            "pk": _pk(record.user),
                            "sk": {"S": f"IDEM#{idempotency[0]}"},
                            "execution_id": {"S": record.execution_id},
                            "fingerprint": {"S": idempotency[1]},
                            TTL_ATTRIBUTE: _expires_at(IDEMPOTENCY_TTL_S),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        if budget is not None:  # second to last: its reason is the one before the total's
            items.append(self._spend_update(record.user, budget.month, estimate, budget.limit_usd))
        items.append(self._total_update(n, queue.overall))  # last: its reason is the last one
        try:
            self._transact(items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = _reasons(exc)
            if idempotency is not None and len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                return self._earlier(record.user, idempotency)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                if queue.per_user <= 0 or self.running_count(record.user) >= limit:
                    raise RunningLimitReached(record.user, limit) from None
                raise QueueFull("user", self.queued_images(record.user), queue.per_user) from None
            if len(reasons) == len(items) and reasons[-1] == "ConditionalCheckFailed":
                raise QueueFull("all", self.queued_images(), queue.overall) from None
            if budget is not None and len(reasons) == len(items) and reasons[-2] == "ConditionalCheckFailed":
                spent = self.spent_usd(record.user, budget.month)
                raise BudgetSpent(record.user, budget.month, spent, estimate, budget.limit_usd) from None
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise ValueError(f"execution {record.execution_id} exists already") from None
            raise
        return Started(record, created=True)

    def _earlier(self, user: str, idempotency: tuple[str, str]) -> Started:
        claim = self.client.get_item(
            TableName=self.table,
            Key={"pk": _pk(user), "sk": {"S": f"IDEM#{idempotency[0]}"}},
            ConsistentRead=True,
        ).get("Item")
        if claim is None or claim["fingerprint"]["S"] != idempotency[1]:
            raise IdempotencyKeyReused(idempotency[0])
        earlier = self.get(user, claim["execution_id"]["S"])
        if earlier is None:  # claim and record are written in one transaction: only damage gets here
            raise IdempotencyKeyReused(idempotency[0])
        return Started(earlier, created=False)

    def create(self, record: ExecutionRecord) -> bool:
        tombstone = self.client.get_item(
            TableName=self.table, Key=_tombstone_key(record.user, record.execution_id), ConsistentRead=True
        ).get("Item")
        if tombstone is not None:  # deleted by its user: a late recorder must not bring it back
            return False
        put = {"TableName": self.table, "Item": _record_item(record), "ConditionExpression": "attribute_not_exists(pk)"}
        try:
            if record.status is ExecutionStatus.RUNNING:
                n = images_of(record)
                self._transact(
                    [{"Put": put}, self._counter_update(record.user, 1, None, {}, images=n), self._total_update(n)]
                )
            else:
                self.client.put_item(**put)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "ConditionalCheckFailedException":
                return False
            # The record exists already (its Put's condition failed); a conflict that outlasted the
            # retries is no such answer, and saying "exists" then would lose the record.
            if code == "TransactionCanceledException" and not _conflicted(exc):
                return False
            raise
        return True

    def finalise(self, user: str, execution_id: str, outcome: Outcome) -> tuple[ExecutionRecord | None, bool]:
        record = self.get(user, execution_id)
        if record is None or record.status.is_final:
            return record, False
        done = finalised_copy(record, outcome)
        record_update = {
            "Update": {
                "TableName": self.table,
                "Key": _exec_key(user, execution_id),
                "UpdateExpression": "SET #s = :final, doc = :doc REMOVE live",
                "ConditionExpression": "#s = :running",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {
                    ":final": {"S": outcome.status.value},
                    ":doc": {"S": done.model_dump_json()},
                    ":running": {"S": RUNNING},
                },
            }
        }
        n = images_of(record)
        counter = self._counter_update(user, -1, "running > :zero", {}, images=-n)
        # Last, so the reasons' positions above stay: the month's spending, the estimate replaced by the cost.
        adjustment = spend_adjustment(record, outcome.cost)
        settle = [self._spend_update(user, month_of(record.created_at), adjustment)] if adjustment else []
        try:
            self._transact([record_update, counter, self._total_update(-n), *settle])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = _reasons(exc)
            if reasons and reasons[0] == "ConditionalCheckFailed":  # another recorder finalised it first
                return self.get(user, execution_id), False
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                # The counter is already 0 (drift): finalise the record alone; the sweep reconciles.
                log.warning("running count of %s was already 0 when %s ended", user, execution_id)
                try:
                    self._transact([record_update, self._total_update(-n), *settle])
                except ClientError as again:
                    if again.response["Error"]["Code"] != "TransactionCanceledException" or _conflicted(again):
                        raise
                    return self.get(user, execution_id), False
            else:
                raise
        return done, True

    def delete(self, user: str, execution_id: str) -> ExecutionRecord | None:
        record = self.get(user, execution_id)
        if record is None:
            return None
        if not record.status.is_final:
            raise StillRunning(execution_id)
        items: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": _exec_key(user, execution_id),
                    "ConditionExpression": "#s <> :running",  # it cannot have started running again,
                    "ExpressionAttributeNames": {"#s": "status"},  # but the rule stays in the write
                    "ExpressionAttributeValues": {":running": {"S": RUNNING}},
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **_tombstone_key(user, execution_id),
                        "deleted_at": {"S": utcnow().isoformat()},
                        TTL_ATTRIBUTE: _expires_at(TOMBSTONE_TTL_S),
                    },
                }
            },
        ]
        if record.idempotency_key is not None:
            items.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": _pk(user), "sk": {"S": f"IDEM#{record.idempotency_key}"}},
                        "ConditionExpression": "execution_id = :id",  # only this execution's own claim
                        "ExpressionAttributeValues": {":id": {"S": execution_id}},
                    }
                }
            )
        try:
            self._transact(items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = _reasons(exc)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise StillRunning(execution_id) from None
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":  # the claim is another's: keep it
                self._transact(items[:2])
            else:
                raise
        return record

    def set_stage(self, user: str, execution_id: str, *, state: str, stage: str, attempts: int = 5) -> bool:
        # Read, change, write back only if the doc is still the one read and still RUNNING: a stage
        # written meanwhile is read again; a recorder that finalised it meanwhile wins.
        for _ in range(attempts):
            item = self.client.get_item(
                TableName=self.table, Key=_exec_key(user, execution_id), ConsistentRead=True
            ).get("Item")
            if item is None or item.get("status", {}).get("S") != RUNNING:
                return False
            staged = staged_copy(ExecutionRecord.model_validate_json(item["doc"]["S"]), state, stage)
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=_exec_key(user, execution_id),
                    UpdateExpression="SET doc = :doc",
                    ConditionExpression="#s = :running AND doc = :old",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={
                        ":doc": {"S": staged.model_dump_json()},
                        ":old": item["doc"],
                        ":running": {"S": RUNNING},
                    },
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue
            return True
        return False

    # --- reads ----------------------------------------------------------------------------
    def get(self, user: str, execution_id: str) -> ExecutionRecord | None:
        item = self.client.get_item(TableName=self.table, Key=_exec_key(user, execution_id), ConsistentRead=True).get(
            "Item"
        )
        return ExecutionRecord.model_validate_json(item["doc"]["S"]) if item else None

    def page(self, user: str, limit: int, before: str | None = None) -> tuple[list[ExecutionRecord], str | None]:
        values: dict[str, Any] = {":pk": _pk(user), ":lo": {"S": "EXEC#"}}
        if before is None:
            condition = "pk = :pk AND begins_with(sk, :lo)"
            fetch = limit + 1
        else:  # BETWEEN is inclusive: the cursor's own item may come first and is dropped
            condition = "pk = :pk AND sk BETWEEN :lo AND :hi"
            values[":hi"] = {"S": f"EXEC#{before}"}
            fetch = limit + 2
        items = self.client.query(
            TableName=self.table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=fetch,
        )["Items"]
        records = [ExecutionRecord.model_validate_json(i["doc"]["S"]) for i in items]
        records = [r for r in records if r.execution_id != before]
        page = records[:limit]
        return page, (page[-1].execution_id if len(records) > limit else None)

    def _live(self, kind: str) -> Iterator[dict[str, Any]]:
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table,
            IndexName=LIVE_INDEX,
            KeyConditionExpression="live = :kind",
            ExpressionAttributeValues={":kind": {"S": kind}},
        ):
            yield from page["Items"]

    def running(self) -> Iterator[ExecutionRecord]:
        for item in self._live(RUNNING):
            yield ExecutionRecord.model_validate_json(item["doc"]["S"])

    def running_count(self, user: str) -> int:
        item = self.client.get_item(TableName=self.table, Key=_counter_key(user), ConsistentRead=True).get("Item")
        return int(item["running"]["N"]) if item else 0

    def spent_usd(self, user: str, month: str) -> float:
        item = self.client.get_item(TableName=self.table, Key=_spend_key(user, month), ConsistentRead=True).get("Item")
        return max(0.0, int(item["nano_usd"]["N"]) / NANO) if item and "nano_usd" in item else 0.0

    def queued_images(self, user: str | None = None) -> int:
        key = TOTAL_KEY if user is None else _counter_key(user)
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return int(item["images"]["N"]) if item and "images" in item else 0

    def _correct_images(self, counted: dict[str, int], actual: dict[str, int], total: int) -> None:
        """Set the queued-image counters to what the RUNNING records hold, each only if unchanged since
        read (a submit meanwhile wins; the next sweep looks again)."""
        wanted = [(_counter_key(u), counted.get(u, 0), actual.get(u, 0)) for u in sorted(set(counted) | set(actual))]
        wanted.append((TOTAL_KEY, total, sum(actual.values())))
        for key, have, want in wanted:
            if have == want:
                continue
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=key,
                    UpdateExpression="SET images = :want",
                    ConditionExpression="attribute_not_exists(images) OR images = :have",
                    ExpressionAttributeValues={":want": {"N": str(want)}, ":have": {"N": str(have)}},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
            else:
                log.warning("queued images of %s were %d, %d are: corrected", key["pk"]["S"], have, want)

    def sweep(self) -> list[Drift]:
        # Counters first, then records: a submit between the two reads changes the counter, so the
        # conditional correction below (running = what was read) refuses and the next sweep retries.
        counters = list(self._live("COUNTER"))
        counted = {item["pk"]["S"].removeprefix("USER#"): int(item["running"]["N"]) for item in counters}
        images_counted: dict[str, int] = {
            item["pk"]["S"].removeprefix("USER#"): int(item.get("images", {"N": "0"})["N"]) for item in counters
        }
        total_counted = self.queued_images()
        actual: dict[str, int] = {}
        images_actual: dict[str, int] = {}
        for record in self.running():
            actual[record.user] = actual.get(record.user, 0) + 1
            images_actual[record.user] = images_actual.get(record.user, 0) + images_of(record)
        self._correct_images(images_counted, images_actual, total_counted)
        drift: list[Drift] = []
        for user in sorted(set(counted) | set(actual)):
            have, want = counted.get(user, 0), actual.get(user, 0)
            if have == want:
                continue
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key=_counter_key(user),
                    UpdateExpression="SET running = :want, live = :counter",
                    ConditionExpression="attribute_not_exists(running) OR running = :have",
                    ExpressionAttributeValues={
                        ":want": {"N": str(want)},
                        ":have": {"N": str(have)},
                        ":counter": {"S": "COUNTER"},
                    },
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                log.info("running count of %s changed during the sweep: left for the next one", user)
                continue
            log.warning("running count of %s was %d, %d records are RUNNING: corrected", user, have, want)
            drift.append(Drift(user, have, want))
        return drift
