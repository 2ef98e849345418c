"""The local execution index: SQLite in WAL mode under the data directory (standard library only).

The API process and the local states service (its recorders and watchdog) open the same file; WAL
lets readers run beside the one writer, and every write is a ``BEGIN IMMEDIATE`` transaction, so
the check of the running count and the write that changes it cannot interleave with another's.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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

ALL_SCOPE = "all"  # queued_images' row of everyone's images; a user's is "user:<user>"


def _user_scope(user: str) -> str:
    return f"user:{user}"


log = logging.getLogger("aiorch.index")

RUNNING = ExecutionStatus.RUNNING.value

SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    user TEXT NOT NULL, execution_id TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (user, execution_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS executions_running ON executions (status) WHERE status = 'RUNNING';
CREATE TABLE IF NOT EXISTS running_counts (user TEXT PRIMARY KEY, running INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
    user TEXT NOT NULL, key TEXT NOT NULL, execution_id TEXT NOT NULL, fingerprint TEXT NOT NULL,
    PRIMARY KEY (user, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deleted (
    user TEXT NOT NULL, execution_id TEXT NOT NULL, deleted_at TEXT NOT NULL, PRIMARY KEY (user, execution_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queued_images (scope TEXT PRIMARY KEY, images INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS monthly_spend (
    user TEXT NOT NULL, month TEXT NOT NULL, usd REAL NOT NULL, PRIMARY KEY (user, month)
) WITHOUT ROWID;
"""


class SqliteIndex(ExecutionIndex):
    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._db().executescript(SCHEMA)  # each CREATE … IF NOT EXISTS is atomic on its own

    # --- connections --------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE below), never implied.
            db = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes; WAL keeps it consistent
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock at its start (no lock upgrade, no deadlock)."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- writes -----------------------------------------------------------------------------
    @staticmethod
    def _insert(db: sqlite3.Connection, record: ExecutionRecord) -> bool:
        gone = db.execute(
            "SELECT 1 FROM deleted WHERE user = ? AND execution_id = ?", (record.user, record.execution_id)
        ).fetchone()
        if gone is not None:  # deleted by its user: a late recorder must not bring it back
            return False
        cur = db.execute(
            "INSERT OR IGNORE INTO executions (user, execution_id, status, doc) VALUES (?, ?, ?, ?)",
            (record.user, record.execution_id, record.status.value, record.model_dump_json()),
        )
        if cur.rowcount == 1 and record.status is ExecutionStatus.RUNNING:
            SqliteIndex._add_running(db, record.user, 1)
            SqliteIndex._add_images(db, record.user, images_of(record))
        return cur.rowcount == 1

    @staticmethod
    def _add_images(db: sqlite3.Connection, user: str, delta: int) -> None:
        for scope in (_user_scope(user), ALL_SCOPE):
            db.execute(
                "INSERT INTO queued_images (scope, images) VALUES (?, max(?, 0)) "
                "ON CONFLICT (scope) DO UPDATE SET images = max(images + ?, 0)",
                (scope, delta, delta),
            )

    @staticmethod
    def _images(db: sqlite3.Connection, scope: str) -> int:
        row = db.execute("SELECT images FROM queued_images WHERE scope = ?", (scope,)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _check_queue(db: sqlite3.Connection, record: ExecutionRecord, queue: QueueBounds | None) -> None:
        if queue is None:
            return
        n = images_of(record)
        for scope, kind, bound in (
            (_user_scope(record.user), "user", queue.per_user),
            (ALL_SCOPE, "all", queue.overall),
        ):
            if bound > 0:
                queued = SqliteIndex._images(db, scope)
                if queued + n > bound:
                    raise QueueFull(kind, queued, bound)

    @staticmethod
    def _spent(db: sqlite3.Connection, user: str, month: str) -> float:
        row = db.execute("SELECT usd FROM monthly_spend WHERE user = ? AND month = ?", (user, month)).fetchone()
        return float(row[0]) if row else 0.0

    @staticmethod
    def _add_spend(db: sqlite3.Connection, user: str, month: str, usd: float) -> None:
        db.execute(
            "INSERT INTO monthly_spend (user, month, usd) VALUES (?, ?, max(?, 0)) "
            "ON CONFLICT (user, month) DO UPDATE SET usd = max(usd + ?, 0)",
            (user, month, usd, usd),
        )

    @staticmethod
    def _charge(db: sqlite3.Connection, record: ExecutionRecord, budget: Budget | None) -> None:
        """Charge the record's estimate to its month, refusing (nothing written) what passes the budget."""
        estimate = record.estimated_cost_usd or 0.0
        if budget is None:
            return
        if budget.limit_usd > 0:
            spent = SqliteIndex._spent(db, record.user, budget.month)
            if spent + estimate > budget.limit_usd + BUDGET_SLACK_USD:
                raise BudgetSpent(record.user, budget.month, spent, estimate, budget.limit_usd)
        SqliteIndex._add_spend(db, record.user, budget.month, estimate)

    @staticmethod
    def _add_running(db: sqlite3.Connection, user: str, delta: int) -> None:
        db.execute(
            "INSERT INTO running_counts (user, running) VALUES (?, max(?, 0)) "
            "ON CONFLICT (user) DO UPDATE SET running = max(running + ?, 0)",
            (user, delta, delta),
        )

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
        with self._write() as db:
            if idempotency is not None:
                row = db.execute(
                    "SELECT execution_id, fingerprint FROM idempotency WHERE user = ? AND key = ?",
                    (record.user, idempotency[0]),
                ).fetchone()
                if row is not None:
                    if row[1] != idempotency[1]:
                        raise IdempotencyKeyReused(idempotency[0])
                    earlier = self._get(db, record.user, row[0])
                    if earlier is None:  # a claim without its record cannot be written, only migrated
                        raise IdempotencyKeyReused(idempotency[0])
                    return Started(earlier, created=False)
            counted = db.execute("SELECT running FROM running_counts WHERE user = ?", (record.user,)).fetchone()
            if (counted[0] if counted else 0) >= limit:
                raise RunningLimitReached(record.user, limit)
            self._check_queue(db, record, queue)
            self._charge(db, record, budget)
            if not self._insert(db, record):
                raise ValueError(f"execution {record.execution_id} exists already")
            if idempotency is not None:
                db.execute(
                    "INSERT INTO idempotency (user, key, execution_id, fingerprint) VALUES (?, ?, ?, ?)",
                    (record.user, idempotency[0], record.execution_id, idempotency[1]),
                )
        return Started(record, created=True)

    def create(self, record: ExecutionRecord) -> bool:
        with self._write() as db:
            return self._insert(db, record)

    def finalise(self, user: str, execution_id: str, outcome: Outcome) -> tuple[ExecutionRecord | None, bool]:
        with self._write() as db:
            record = self._get(db, user, execution_id)
            if record is None or record.status.is_final:
                return record, False
            done = finalised_copy(record, outcome)
            db.execute(
                "UPDATE executions SET status = ?, doc = ? WHERE user = ? AND execution_id = ?",
                (done.status.value, done.model_dump_json(), user, execution_id),
            )
            if adjustment := spend_adjustment(record, outcome.cost):
                self._add_spend(db, user, month_of(record.created_at), adjustment)
            if record.status is ExecutionStatus.RUNNING and outcome.status is not ExecutionStatus.RUNNING:
                self._add_running(db, user, -1)
                self._add_images(db, user, -images_of(record))
        return done, True

    def set_stage(self, user: str, execution_id: str, *, state: str, stage: str) -> bool:
        with self._write() as db:
            record = self._get(db, user, execution_id)
            if record is None or record.status is not ExecutionStatus.RUNNING:
                return False
            db.execute(
                "UPDATE executions SET doc = ? WHERE user = ? AND execution_id = ?",
                (staged_copy(record, state, stage).model_dump_json(), user, execution_id),
            )
        return True

    # --- reads ----------------------------------------------------------------------------
    def delete(self, user: str, execution_id: str) -> ExecutionRecord | None:
        with self._write() as db:
            record = self._get(db, user, execution_id)
            if record is None:
                return None
            if not record.status.is_final:
                raise StillRunning(execution_id)
            db.execute("DELETE FROM executions WHERE user = ? AND execution_id = ?", (user, execution_id))
            if record.idempotency_key is not None:
                db.execute(
                    "DELETE FROM idempotency WHERE user = ? AND key = ? AND execution_id = ?",
                    (user, record.idempotency_key, execution_id),
                )
            db.execute(
                "INSERT OR REPLACE INTO deleted (user, execution_id, deleted_at) VALUES (?, ?, ?)",
                (user, execution_id, utcnow().isoformat()),
            )
        return record

    @staticmethod
    def _get(db: sqlite3.Connection, user: str, execution_id: str) -> ExecutionRecord | None:
        row = db.execute(
            "SELECT doc FROM executions WHERE user = ? AND execution_id = ?", (user, execution_id)
        ).fetchone()
        return ExecutionRecord.model_validate_json(row[0]) if row else None

    def get(self, user: str, execution_id: str) -> ExecutionRecord | None:
        return self._get(self._db(), user, execution_id)

    def page(self, user: str, limit: int, before: str | None = None) -> tuple[list[ExecutionRecord], str | None]:
        # The primary key (user, execution_id) serves this range read: limit+1 rows, never the partition.
        rows = (
            self._db()
            .execute(
                "SELECT doc FROM executions WHERE user = ? AND execution_id < ? ORDER BY execution_id DESC LIMIT ?",
                (user, before if before is not None else "\uffff", limit + 1),
            )
            .fetchall()
        )
        records = [ExecutionRecord.model_validate_json(r[0]) for r in rows[:limit]]
        return records, (records[-1].execution_id if len(rows) > limit else None)

    def running(self) -> Iterator[ExecutionRecord]:
        rows = self._db().execute("SELECT doc FROM executions WHERE status = ?", (RUNNING,)).fetchall()
        for (doc,) in rows:
            yield ExecutionRecord.model_validate_json(doc)

    def running_count(self, user: str) -> int:
        row = self._db().execute("SELECT running FROM running_counts WHERE user = ?", (user,)).fetchone()
        return int(row[0]) if row else 0

    def spent_usd(self, user: str, month: str) -> float:
        return self._spent(self._db(), user, month)

    def queued_images(self, user: str | None = None) -> int:
        return self._images(self._db(), ALL_SCOPE if user is None else _user_scope(user))

    def sweep(self) -> list[Drift]:
        drift: list[Drift] = []
        with self._write() as db:
            actual = dict(
                db.execute("SELECT user, count(*) FROM executions WHERE status = ? GROUP BY user", (RUNNING,))
            )
            counted = dict(db.execute("SELECT user, running FROM running_counts"))
            for user in sorted(set(actual) | set(counted)):
                if actual.get(user, 0) != counted.get(user, 0):
                    drift.append(Drift(user, counted.get(user, 0), actual.get(user, 0)))
                    db.execute(
                        "INSERT INTO running_counts (user, running) VALUES (?, ?) "
                        "ON CONFLICT (user) DO UPDATE SET running = excluded.running",
                        (user, actual.get(user, 0)),
                    )
            # The queued images, recomputed from the RUNNING records (a counter from before they were
            # counted starts at 0 and is set right here).
            images: dict[str, int] = {ALL_SCOPE: 0}
            for (doc,) in db.execute("SELECT doc FROM executions WHERE status = ?", (RUNNING,)):
                running = ExecutionRecord.model_validate_json(doc)
                images[_user_scope(running.user)] = images.get(_user_scope(running.user), 0) + images_of(running)
                images[ALL_SCOPE] += images_of(running)
            db.execute("DELETE FROM queued_images")
            db.executemany("INSERT INTO queued_images (scope, images) VALUES (?, ?)", list(images.items()))
        for d in drift:
            log.warning("running count of %s was %d, %d records are RUNNING: corrected", d.user, d.counted, d.actual)
        return drift

    # --- migration from the S3-JSON index ------------------------------------------------------
    def migrate_json_records(self, storage: object) -> int:
        """Copy ``executions/…`` and ``idempotency/…`` JSON objects of the old index in, once.

        The JSON files are left where they are (a rollback can still read them); a flag in ``meta``
        makes later starts skip the walk. Returns the number of records copied."""
        from aiorch.storage import NotFound, Storage

        assert isinstance(storage, Storage)
        if self._db().execute("SELECT 1 FROM meta WHERE name = 'json_migrated'").fetchone():
            return 0
        copied = 0
        records: list[ExecutionRecord] = []
        for key in storage.list("executions/"):
            if not key.endswith(".json"):
                continue
            try:
                records.append(ExecutionRecord.model_validate_json(storage.get_bytes(key)))
            except (NotFound, ValueError):
                log.warning("old index record %s is unreadable: not migrated", key)
        claims: list[tuple[str, str, str, str]] = []
        for key in storage.list("idempotency/"):
            parts = key.removesuffix(".json").split("/")
            if len(parts) != 3:
                continue
            try:
                claim = json.loads(storage.get_bytes(key))
                claims.append((parts[1], parts[2], str(claim["execution_id"]), str(claim["fingerprint"])))
            except (NotFound, ValueError, KeyError, TypeError):
                log.warning("old idempotency claim %s is unreadable: not migrated", key)
        with self._write() as db:
            if db.execute("SELECT 1 FROM meta WHERE name = 'json_migrated'").fetchone():
                return 0  # another process did it meanwhile
            for record in records:
                copied += self._insert(db, record)
            db.executemany(
                "INSERT OR IGNORE INTO idempotency (user, key, execution_id, fingerprint) VALUES (?, ?, ?, ?)",
                claims,
            )
            db.execute("INSERT INTO meta (name, value) VALUES ('json_migrated', ?)", (str(copied),))
        if copied:
            log.info("migrated %d execution records and %d idempotency claims from JSON", copied, len(claims))
        return copied
