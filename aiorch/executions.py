"""The execution index: one JSON object per execution, in storage.

Created with create-if-absent, so a repeated Idempotency-Key maps to one
execution. Finalised by RecordResult / RecordFailure or the status-change
handler; whichever comes first wins, later ones only fill gaps.
"""

from __future__ import annotations

from collections.abc import Iterator

from aiorch import keys
from aiorch.contracts import ExecutionRecord, ExecutionStatus, utcnow
from aiorch.storage import NotFound, Storage


class ExecutionIndex:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def create(self, record: ExecutionRecord) -> bool:
        """Store a new record; False when one with this id already exists."""
        key = keys.execution_key(record.user, record.execution_id)
        return self.storage.put_if_absent(key, record.model_dump_json(indent=1).encode(), "application/json")

    def get(self, user: str, execution_id: str) -> ExecutionRecord | None:
        try:
            raw = self.storage.get_bytes(keys.execution_key(user, execution_id))
        except (NotFound, ValueError):
            return None
        return ExecutionRecord.model_validate_json(raw)

    def put(self, record: ExecutionRecord) -> None:
        self.storage.put_bytes(
            keys.execution_key(record.user, record.execution_id),
            record.model_dump_json(indent=1).encode(),
            "application/json",
        )

    def finalise(
        self,
        user: str,
        execution_id: str,
        status: ExecutionStatus,
        *,
        recorded_by: str,
        result_keys: list[str] | None = None,
        metadata_keys: list[str] | None = None,
        error_type: str | None = None,
        error_message: str | None = None,
    ) -> tuple[ExecutionRecord | None, bool]:
        """Mark an execution finished. Returns (record, changed).

        A record already final is left as it is (the first writer knows most:
        RecordResult/RecordFailure run inside the execution, the status-change
        handler only sees the end).
        """
        record = self.get(user, execution_id)
        if record is None:
            return None, False
        if record.status.is_final:
            return record, False
        record.status = status
        record.finished_at = utcnow()
        record.recorded_by = recorded_by
        if result_keys is not None:
            record.result_keys = result_keys
        if metadata_keys is not None:
            record.metadata_keys = metadata_keys
        record.error_type = error_type
        record.error_message = error_message
        self.put(record)
        return record, True

    def list_user(self, user: str) -> list[ExecutionRecord]:
        """The user's executions, newest first (ULIDs sort by time)."""
        ids = [k.rsplit("/", 1)[-1].removesuffix(".json") for k in self.storage.list(keys.executions_prefix(user))]
        out = [r for r in (self.get(user, i) for i in sorted(ids, reverse=True)) if r is not None]
        return out

    def all_records(self) -> Iterator[ExecutionRecord]:
        for key in self.storage.list(keys.executions_prefix()):
            if key.endswith(".json"):
                try:
                    yield ExecutionRecord.model_validate_json(self.storage.get_bytes(key))
                except (NotFound, ValueError):
                    continue
