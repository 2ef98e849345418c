"""An execution's Step Functions history, stored beside its results.

AWS keeps an execution's history for 90 days; the local states service (moto) keeps it in memory
only, so its watchdog stores it here when the execution ends and periodically while it runs, and
readers fall back to it when the service no longer knows the execution. Key:
``results/{user}/{execution}/states/history.json`` (under the user's prefix like every key).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiorch import keys
from aiorch.storage import NotFound, Storage

TIME_FIELDS = ("timestamp", "startDate", "stopDate")
DESCRIBED_FIELDS = ("executionArn", "name", "status", "startDate", "stopDate", "error", "cause")


def history_key(user: str, execution_id: str) -> str:
    return keys.result_prefix(user, execution_id, "states") + "history.json"


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def store_history(
    storage: Storage, user: str, execution_id: str, described: dict[str, Any], events: list[dict[str, Any]]
) -> str:
    key = history_key(user, execution_id)
    body = {"described": {k: described.get(k) for k in DESCRIBED_FIELDS}, "events": events}
    storage.put_bytes(key, json.dumps(body, default=_encode).encode(), "application/json")
    return key


def _times_back(item: dict[str, Any]) -> dict[str, Any]:
    for field in TIME_FIELDS:
        if isinstance(item.get(field), str):
            item[field] = datetime.fromisoformat(item[field])
    return item


def load_history(storage: Storage, user: str, execution_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(described, events) as DescribeExecution and GetExecutionHistory gave them; None when not stored."""
    try:
        body = json.loads(storage.get_bytes(history_key(user, execution_id)))
    except (NotFound, ValueError):
        return None
    return _times_back(body["described"]), [_times_back(e) for e in body["events"]]
