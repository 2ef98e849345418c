"""Fixes to moto's ASL interpreter, applied by the local states service before it starts.

Each is a place where moto answers otherwise than AWS documents, found by a test of ours:

- **A stop during a Map state.** StopExecution halts the program; each Map iteration then ends as
  MapIterationAborted carrying the stop's *error string* where moto's own code expects a dict of
  event details, so the Map state's Catch failed on ``str.get`` and the execution ended FAILED
  with States.Runtime instead of ABORTED (AWS: a stopped execution is ABORTED and no Catch runs).
  The error output is read from a string as well as a dict, and a stopped program stays stopped:
  the aborted iterations' failures, raised after the stop, no longer turn it into an error.
- **A stop answered before it is done.** StopExecution only flags the program, whose thread notices
  at its next step (after the Lambda call or the job poll it is in), so DescribeExecution kept
  answering RUNNING for a second or more after the stop (AWS: ABORTED from the stop's answer on).
  A cancel then read RUNNING, and a DELETE right after it was refused as "still running". The stop
  now answers once the program has ended, waiting at most ``STOP_SETTLE_S``.
"""

from __future__ import annotations

import time
from typing import Any

STOP_SETTLE_S = 10.0  # longer than a step takes to notice a stop (a Lambda call, a 0.5 s job poll)
_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState

    def error_output(failure_event: Any) -> dict[str, Any]:
        details = list(failure_event.event_details.values())
        spec = details[0] if details else {}
        if not isinstance(spec, dict):  # a stopped iteration: the stop's error, a string (or None)
            spec = {"error": spec or "", "cause": ""}
        return {"Error": spec.get("error", ""), "Cause": spec.get("cause", "")}

    ExecutionState._construct_error_output_value = staticmethod(error_output)  # type: ignore[method-assign]

    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    set_error = Environment.set_error

    def set_error_unless_stopped(self: Any, error: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return  # stopped first: the execution is ABORTED, whatever its iterations raise as they end
        set_error(self, error)

    Environment.set_error = set_error_unless_stopped  # type: ignore[method-assign]

    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    stop_execution = StepFunctionsParserBackend.stop_execution

    def stop_execution_once_ended(self: Any, execution_arn: str) -> Any:
        execution = stop_execution(self, execution_arn)
        deadline = time.monotonic() + STOP_SETTLE_S
        while getattr(execution, "status", None) == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.05)
        return execution

    StepFunctionsParserBackend.stop_execution = stop_execution_once_ended  # type: ignore[method-assign]
    _applied = True
