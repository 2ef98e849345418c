"""The execution index: one interface (base), SQLite locally, DynamoDB in AWS.

``open_index(settings)`` picks the backend from ``settings.index_url``: ``dynamodb://<table>`` for
DynamoDB, anything else a SQLite file path (default ``<data_dir>/index.sqlite3``). One index object
per URL and process, so connections are reused.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from aiorch.index.base import (
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
)

if TYPE_CHECKING:
    from aiorch.settings import Settings
    from aiorch.storage import Storage

__all__ = [
    "Budget",
    "BudgetSpent",
    "Drift",
    "ExecutionIndex",
    "IdempotencyKeyReused",
    "QueueBounds",
    "QueueFull",
    "RunningLimitReached",
    "Started",
    "StillRunning",
    "open_index",
]

# The indexes opened lately, by URL. Bounded: a process that opens many (a test run, one data
# directory per test) drops the oldest, and with it their SQLite connections.
_opened: OrderedDict[str, ExecutionIndex] = OrderedDict()
_OPENED_MAX = 8
_lock = threading.Lock()


def open_index(settings: Settings, storage: Storage | None = None) -> ExecutionIndex:
    """The index the settings name. A local index copies the old JSON records of ``storage``
    (default: the app storage) in on its first opening."""
    url = settings.resolved_index_url
    with _lock:
        index = _opened.get(url)
        if index is not None:
            _opened.move_to_end(url)
            return index
        if url.startswith("dynamodb://"):
            from aiorch.index.dynamodb import DynamoDbIndex

            index = DynamoDbIndex(
                url.removeprefix("dynamodb://"), region=settings.aws_region, endpoint_url=settings.dynamodb_endpoint_url
            )
        else:
            from aiorch.index.sqlite import SqliteIndex
            from aiorch.storage import open_app_storage

            index = SqliteIndex(url.removeprefix("sqlite://"))
            index.migrate_json_records(storage or open_app_storage(settings))
        _opened[url] = index
        while len(_opened) > _OPENED_MAX:
            _opened.popitem(last=False)
        return index
