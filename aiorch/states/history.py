"""An execution's history as ops read it: each state entered and left, task failures, the end.

Works on any Step Functions endpoint (the local service or AWS). moto adds a
spurious ``TaskSucceeded`` (output ``null``) right before ``ExecutionAborted``
when an execution is stopped; it is dropped here so a stopped job never shows
as a success.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

_TASK_FAILURES = {"TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed", "TaskStartTimedOut"}
_EXECUTION_ENDS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}


@dataclass
class TaskFailure:
    error: str | None
    cause: str | None
    at: datetime


@dataclass
class StateRun:
    name: str
    type: str  # Task, Choice, Fail, Succeed, ...
    entered_at: datetime
    exited_at: datetime | None = None
    outcome: str = "running"  # succeeded, failed (error caught, execution went on), or how the execution ended
    attempts: int = 0  # task attempts (retries included)
    failures: list[TaskFailure] = field(default_factory=list)
    job_id: str | None = None  # Batch job id for job states


@dataclass
class ExecutionReport:
    execution_arn: str
    name: str
    status: str
    started_at: datetime | None
    stopped_at: datetime | None
    error: str | None
    cause: str | None
    states: list[StateRun]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def history_events(client: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = client.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def drop_spurious_abort_success(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Remove moto's ``TaskSucceeded`` with output null that directly precedes ``ExecutionAborted``."""
    kept = []
    for i, event in enumerate(events):
        following = events[i + 1]["type"] if i + 1 < len(events) else None
        output = event.get("taskSucceededEventDetails", {}).get("output")
        if event["type"] == "TaskSucceeded" and following == "ExecutionAborted" and output in (None, "null"):
            continue
        kept.append(event)
    return kept


def summarise(events: list[dict[str, Any]], described: dict[str, Any]) -> ExecutionReport:
    states: list[StateRun] = []
    last_task_failed = False
    for event in drop_spurious_abort_success(events):
        kind, at = event["type"], event["timestamp"]
        current = states[-1] if states else None
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            states.append(StateRun(name=name, type=kind.removesuffix("StateEntered"), entered_at=at))
            last_task_failed = False
        elif current is None:
            continue
        elif kind == "TaskScheduled":
            current.attempts += 1
        elif kind == "TaskSubmitted":
            current.job_id = _job_id(event["taskSubmittedEventDetails"].get("output"))
        elif kind in _TASK_FAILURES:
            details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            current.failures.append(TaskFailure(details.get("error"), details.get("cause"), at))
            last_task_failed = True
        elif kind == "TaskSucceeded":
            last_task_failed = False
        elif kind.endswith("StateExited"):
            current.exited_at = at
            current.outcome = "failed" if last_task_failed else "succeeded"
        elif kind in _EXECUTION_ENDS:
            for run in states:
                if run.exited_at is None:
                    run.outcome = _EXECUTION_ENDS[kind].lower()
    return ExecutionReport(
        execution_arn=described["executionArn"],
        name=described["name"],
        status=described["status"],
        started_at=described.get("startDate"),
        stopped_at=described.get("stopDate"),
        error=described.get("error") or None,  # moto answers "" for a stop without error
        cause=described.get("cause") or None,
        states=states,
    )


def describe(client: Any, execution_arn: str) -> ExecutionReport:
    """The execution's status and its states, from DescribeExecution and GetExecutionHistory."""
    described = client.describe_execution(executionArn=execution_arn)
    return summarise(history_events(client, execution_arn), described)


def _job_id(output: str | None) -> str | None:
    try:
        value = json.loads(output or "null")
    except ValueError:
        return None
    return value.get("JobId") if isinstance(value, dict) else None
