"""Step Functions as AnalysisService uses it, kept in memory, answering like the local states service.

tests/contract/test_states_contract.py runs the same assertions on this fake and on the real local
service (moto), so where moto differs from AWS this fake follows moto: GetExecutionHistory returns the
whole history oldest first and ignores ``reverseOrder`` and ``maxResults``; an unknown execution is a
``ClientError`` with code ``ExecutionDoesNotExist``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError


class FakeStates:
    """StartExecution, DescribeExecution, StopExecution and GetExecutionHistory, in memory."""

    def __init__(self) -> None:
        self.executions: dict[str, dict[str, Any]] = {}
        self.started: list[dict[str, Any]] = []  # every StartExecution's arguments, in order
        self.stopped: list[str] = []  # every StopExecution's ARN, in order
        self.fail_start = False  # True: StartExecution answers as an unavailable service

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        if self.fail_start:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "StartExecution")
        self.started.append({"stateMachineArn": stateMachineArn, "name": name, "input": input})
        arn = stateMachineArn.replace(":stateMachine:", ":execution:") + f":{name}"
        now = datetime.now(UTC)
        self.executions[arn] = {
            "name": name,
            "status": "RUNNING",
            "startDate": now,
            "events": [
                {"id": 1, "type": "ExecutionStarted", "timestamp": now},
                {
                    "id": 2,
                    "type": "TaskStateEntered",
                    "timestamp": now,
                    "stateEnteredEventDetails": {"name": "ValidateInput"},
                },
            ],
        }
        return {"executionArn": arn, "startDate": now}

    def enter(self, arn: str, state: str) -> None:
        """Move a fake execution on: the previous state exits and ``state`` is entered (the test drives it)."""
        events = self._get(arn, "GetExecutionHistory")["events"]
        now = datetime.now(UTC)
        for kind, details in (("TaskStateExited", "stateExitedEventDetails"), ("TaskStateEntered", None)):
            event: dict[str, Any] = {"id": len(events) + 1, "type": kind, "timestamp": now}
            event[details or "stateEnteredEventDetails"] = {"name": state}
            events.append(event)

    def _get(self, arn: str, operation: str) -> dict[str, Any]:
        if arn not in self.executions:
            raise ClientError(
                {
                    "Error": {"Code": "ExecutionDoesNotExist", "Message": f"Execution Does Not Exist: '{arn}'"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                operation,
            )
        return self.executions[arn]

    def describe_state_machine(self, stateMachineArn: str) -> dict[str, Any]:
        """The readiness check's call: the fake's one state machine always exists."""
        return {"stateMachineArn": stateMachineArn, "status": "ACTIVE"}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        execution = self._get(executionArn, "DescribeExecution")
        described = {k: execution[k] for k in ("name", "status", "startDate")} | {"executionArn": executionArn}
        if "stopDate" in execution:
            described["stopDate"] = execution["stopDate"]
        return described

    def stop_execution(self, executionArn: str, error: str = "", cause: str = "") -> dict[str, Any]:
        execution = self._get(executionArn, "StopExecution")
        self.stopped.append(executionArn)
        execution["status"] = "ABORTED"
        execution["stopDate"] = datetime.now(UTC)
        events = execution["events"]
        events.append({"id": len(events) + 1, "type": "ExecutionAborted", "timestamp": execution["stopDate"]})
        return {"stopDate": execution["stopDate"]}

    def get_execution_history(self, executionArn: str, **_ignored: Any) -> dict[str, Any]:
        # Like moto: reverseOrder, maxResults and nextToken are ignored; all events, oldest first.
        return {"events": list(self._get(executionArn, "GetExecutionHistory")["events"])}
