"""The execution index's public names, kept at their old import path.

The index itself lives in ``aiorch/index/`` (an interface, SQLite locally, DynamoDB in AWS); the
S3-JSON objects it replaced (``executions/…``, ``idempotency/…``) are migrated on first start.
"""

from aiorch.index import Drift, ExecutionIndex, IdempotencyKeyReused, RunningLimitReached, Started, open_index

__all__ = ["Drift", "ExecutionIndex", "IdempotencyKeyReused", "RunningLimitReached", "Started", "open_index"]
