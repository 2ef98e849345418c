"""The watchdog: ends jobs of executions that are over, and reports executions that ended badly.

moto calls no TerminateJob when an execution is stopped (DESIGN.md), so every
``job_stop_check_s`` the watchdog compares each live job's execution (passed to
the job as ``AIORCH_EXECUTION_ARN``) with Step Functions' answer; a job nobody
has polled for ``LEASE_S`` is ended too. Executions that end FAILED, TIMED_OUT
or ABORTED are sent to the status-change handler, as EventBridge does in AWS.
At start, executions the index still holds as RUNNING died with the previous
service (moto keeps its state in memory only): they are reported INTERRUPTED.

A report whose handler fails (the index locked or its disk full, say) is retried with backoff;
after MAX_HANDLER_ATTEMPTS it is marked for the sweep, which tries it again each time it runs
(about once a minute), and the record stays RUNNING, so the next start reports it too.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiorch.contracts import AnalysisRequest, ExecutionRecord, ExecutionStatus
from aiorch.index import open_index
from aiorch.settings import Settings
from aiorch.states import execution_arn
from aiorch.storage import open_app_storage
from workflows.local.dispatch import LocalLambdaContext
from workflows.local.jobs import JobRunner

log = logging.getLogger(__name__)

LEASE_S = 120.0  # moto's .sync loop polls every 0.5 s; a job unpolled this long has no execution waiting
NOTIFIED_STATUSES = {"FAILED", "TIMED_OUT", "ABORTED"}
MAX_HANDLER_ATTEMPTS = 6  # with the backoff below: tries over about a minute, then the sweep's turn
RETRY_FIRST_S = 1.0  # the pause after a failed report, doubled after each failure up to RETRY_MAX_S
RETRY_MAX_S = 30.0
SWEEP_EVERY_ROUNDS = 60  # the running-count sweep (aiorch/index) about once a minute
# A running execution's history is stored every round it grew (the read is local, the write skipped
# when nothing happened), so a crash loses at most the last round of it.
ARCHIVE_RUNNING_EVERY_ROUNDS = 1

StatusChangeHandler = Callable[[dict[str, Any], Any], Any]


class Backoff:
    """When a failed report may be tried again: the pause doubles from ``first_s`` up to ``max_s``."""

    def __init__(self, first_s: float, max_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self.clock = clock
        self._next: dict[str, float] = {}
        self._pause: dict[str, float] = {}

    def failed(self, key: str) -> float:
        """Note a failure; returns the pause before the next try."""
        pause = min(self._pause[key] * 2, self.max_s) if key in self._pause else self.first_s
        self._pause[key] = pause
        self._next[key] = self.clock() + pause
        return pause

    def due(self, key: str) -> bool:
        return self.clock() >= self._next.get(key, float("-inf"))

    def forget(self, key: str) -> None:
        self._next.pop(key, None)
        self._pause.pop(key, None)


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def status_change_event(
    *,
    execution_arn: str,
    state_machine_arn: str,
    name: str,
    status: str,
    start: datetime | None,
    stop: datetime | None,
    region: str,
    input_json: str | None = None,
    error: str | None = None,
    cause: str | None = None,
) -> dict[str, Any]:
    """An EventBridge "Step Functions Execution Status Change" event, as AWS sends it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": execution_arn.split(":")[4] if execution_arn.count(":") >= 4 else "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [execution_arn],
        "detail": {
            "executionArn": execution_arn,
            "stateMachineArn": state_machine_arn,
            "name": name,
            "status": status,
            "startDate": _ms(start),
            "stopDate": _ms(stop),
            "input": input_json,
            "output": None,
            "error": error,
            "cause": cause,
        },
    }


def interrupted_event(record: ExecutionRecord, settings: Settings) -> dict[str, Any]:
    state_machine_arn = settings.resolved_state_machine_arn
    arn = record.execution_arn or execution_arn(state_machine_arn, record.execution_id)
    return status_change_event(
        execution_arn=arn,
        state_machine_arn=state_machine_arn,
        name=record.execution_id,
        status=ExecutionStatus.INTERRUPTED.value,
        start=record.created_at,
        stop=datetime.now(UTC),
        region=settings.aws_region,
        # The input the execution was started with, rebuilt from the index record (the new service
        # never saw it): the status-change handler finalises from it like from any EventBridge event.
        input_json=json.dumps(
            {
                "request": AnalysisRequest.model_validate(
                    record.model_dump(include=set(AnalysisRequest.model_fields))
                ).model_dump(mode="json")
            }
        ),
        error="Local.ServiceInterrupted",
        cause="The local states service stopped while this execution ran; its state was in memory only.",
    )


def running_records(settings: Settings) -> list[ExecutionRecord]:
    """Index records still RUNNING. Read before the service answers, so none of them can be one of its own."""
    return list(open_index(settings, open_app_storage(settings)).running())


class Watchdog:
    def __init__(
        self,
        settings: Settings,
        runner: JobRunner,
        states: Any,  # a boto3 stepfunctions client for this service
        status_change: StatusChangeHandler | None,
        *,
        interrupted: list[ExecutionRecord] | None = None,
        lease_s: float = LEASE_S,
        clock: Callable[[], float] = time.monotonic,  # of the retries' backoff
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.states = states
        self.status_change = status_change
        self.lease_s = lease_s
        self.interrupted = interrupted or []
        self._attempts: dict[str, int] = {}  # execution ARN → handler calls so far
        self._retry = Backoff(RETRY_FIRST_S, RETRY_MAX_S, clock)
        self.pending: list[ExecutionRecord] = []  # INTERRUPTED finalisations to try again
        self._done: set[str] = set()  # executions reported
        self.for_sweep: dict[str, dict[str, Any]] = {}  # out of attempts: ARN → event, tried at each sweep
        self._archived: set[str] = set()  # ended executions whose final history is stored
        self._stored_events: dict[str, int] = {}  # execution ARN → events in its stored history
        self._rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._started = False

    def start(self) -> None:
        self._started = True
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def ensure_running(self) -> bool:
        """Start a new watchdog thread if the one started has died. True when one was started."""
        if not self._started or self._stop.is_set() or self._thread.is_alive():
            return False
        log.error("the watchdog thread had died: starting a new one")
        self.interrupted = self.pending  # what the dead one still had to report
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        try:
            self.pending = self.report_interrupted(self.interrupted)
        except Exception:  # reported again by retry_interrupted's rounds
            log.exception("reporting the interrupted executions failed; retried each round")
            self.pending = list(self.interrupted)
        rounds = 0
        while not self._stop.wait(self.settings.job_stop_check_s):
            rounds += 1
            try:
                self.retry_interrupted()
                self.check_once()
                self.deliver_webhooks()
                if rounds % SWEEP_EVERY_ROUNDS == 0:
                    self.sweep()
            except Exception:  # one bad round must not end the watchdog
                log.exception("watchdog round failed")

    def deliver_webhooks(self) -> None:
        """Webhook events due for an attempt (aiorch/webhooks.py's outbox); each round, as the
        status-change schedule would in AWS."""
        from aiorch.webhooks import pump

        try:
            storage = open_app_storage(self.settings)
            pump(self.settings, storage, open_index(self.settings, storage))
        except Exception:  # never at the cost of the round's other work (the sweep comes after)
            log.exception("webhook delivery round failed")

    def interrupt_running(self) -> int:
        """On the way out (SIGTERM): store each running execution's history as it stands, then record
        it INTERRUPTED now, instead of leaving it RUNNING until the next start. Returns how many."""
        for arn, item in self._executions().items():
            if item["status"] == "RUNNING":
                self.archive(arn, ended=False)
        records = running_records(self.settings)
        left = self.report_interrupted(records)
        if left:
            log.error("%d running executions could not be recorded INTERRUPTED; the next start reports them", len(left))
        return len(records) - len(left)

    def retry_interrupted(self) -> None:
        """Report again each failed INTERRUPTED finalisation whose backoff has passed."""
        due: list[ExecutionRecord] = []
        waiting: list[ExecutionRecord] = []
        for record in self.pending:
            (due if self._retry.due(self._arn(record)) else waiting).append(record)
        self.pending = waiting + self.report_interrupted(due)

    def sweep(self) -> None:
        """Report again what ran out of attempts, then recompute the running counts (logging drift)."""
        for arn, event in list(self.for_sweep.items()):
            if self._send(arn, event):
                log.info("reported %s at the sweep", arn)
        open_index(self.settings).sweep()

    # --- the checks -------------------------------------------------------------------
    def report_interrupted(self, records: list[ExecutionRecord]) -> list[ExecutionRecord]:
        """Send INTERRUPTED for each record (from ``running_records`` taken before this service answered).

        Returns the records to try again: the handler failed and has attempts left. One out of
        attempts stays RUNNING in the index and is reported again at the next start."""
        retry = []
        for record in records:
            event = interrupted_event(record, self.settings)
            arn = event["detail"]["executionArn"]
            if not self._send(arn, event) and arn not in self._done and arn not in self.for_sweep:
                retry.append(record)
        return retry

    def _arn(self, record: ExecutionRecord) -> str:
        return record.execution_arn or execution_arn(self.settings.resolved_state_machine_arn, record.execution_id)

    def check_once(self) -> None:
        executions = self._executions()
        self._rounds += 1
        for arn, item in executions.items():
            ended = item["status"] != "RUNNING"
            if (ended and arn not in self._archived) or (
                not ended and self._rounds % ARCHIVE_RUNNING_EVERY_ROUNDS == 0
            ):
                self.archive(arn, ended=ended)
        now = time.monotonic()
        for job in self.runner.active_jobs():
            status = executions.get(job.execution_arn or "", {}).get("status")
            if status and status != "RUNNING":
                self.runner.request_stop(job.job_id, f"Execution {status}: job ended by the local watchdog")
            elif now - job.last_polled > self.lease_s:
                self.runner.request_stop(job.job_id, f"No execution polled this job for {self.lease_s:.0f} s")
        for arn, item in executions.items():
            if (
                item["status"] in NOTIFIED_STATUSES
                and arn not in self._done
                and arn not in self.for_sweep
                and self._retry.due(arn)
            ):
                described = self.states.describe_execution(executionArn=arn)
                event = status_change_event(
                    execution_arn=arn,
                    state_machine_arn=described["stateMachineArn"],
                    name=described["name"],
                    status=described["status"],
                    start=described.get("startDate"),
                    stop=described.get("stopDate"),
                    region=self.settings.aws_region,
                    input_json=described.get("input"),
                    error=described.get("error"),
                    cause=described.get("cause"),
                )
                self._send(arn, event)

    def archive(self, arn: str, *, ended: bool) -> None:
        """Store the execution's history beside its results (moto forgets it at a restart)."""
        from aiorch.index.history import store_history
        from aiorch.states import history_events

        try:
            described = self.states.describe_execution(executionArn=arn)
            user = json.loads(described.get("input") or "{}")["request"]["user"]
            events = history_events(self.states, arn)
            if ended or self._stored_events.get(arn) != len(events):
                store_history(open_app_storage(self.settings), user, described["name"], described, events)
                self._stored_events[arn] = len(events)
        except (KeyError, TypeError, ValueError):
            self._archived.add(arn)  # not an analysis request: nothing to store it under
            return
        except Exception:
            log.exception("storing the history of %s failed; retried next round", arn)
            return
        if ended:
            self._archived.add(arn)

    def _executions(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for machine in self.states.list_state_machines().get("stateMachines", []):
            kwargs: dict[str, Any] = {"stateMachineArn": machine["stateMachineArn"], "maxResults": 1000}
            while True:
                page = self.states.list_executions(**kwargs)
                for item in page.get("executions", []):
                    out[item["executionArn"]] = item
                if not page.get("nextToken"):
                    break
                kwargs["nextToken"] = page["nextToken"]
        return out

    def _send(self, arn: str, event: dict[str, Any]) -> bool:
        """Call the status-change handler; True once it succeeded. A failure is retried with
        backoff; out of attempts, the event is marked for the sweep (``for_sweep``)."""
        if self.status_change is None:
            self._done.add(arn)
            return False
        self._attempts[arn] = self._attempts.get(arn, 0) + 1
        try:
            self.status_change(event, LocalLambdaContext("aiorch-status-change", region=self.settings.aws_region))
        except Exception:
            pause = self._retry.failed(arn)
            if arn in self.for_sweep:
                log.exception("status-change handler failed again for %s at the sweep; next sweep", arn)
            elif self._attempts[arn] >= MAX_HANDLER_ATTEMPTS:
                self.for_sweep[arn] = event
                log.exception(
                    "status-change handler failed for %s %d times: marked for the sweep (about every %.0f s); "
                    "its index record stays RUNNING until a report succeeds",
                    arn,
                    self._attempts[arn],
                    SWEEP_EVERY_ROUNDS * self.settings.job_stop_check_s,
                )
            else:
                log.exception(
                    "status-change handler failed for %s (attempt %d): retried in %.0f s",
                    arn,
                    self._attempts[arn],
                    pause,
                )
            return False
        self._done.add(arn)
        self.for_sweep.pop(arn, None)
        self._retry.forget(arn)
        return True
