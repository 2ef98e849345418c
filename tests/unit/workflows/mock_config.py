"""Run a definition against an AWS Step Functions Local ``MockConfigFile``, through moto's own mock engine.

The file format is AWS's::

    {"StateMachines": {"<name>": {"TestCases": {"<case>": {"<State>": "<MockedResponse>"}}}},
     "MockedResponses": {"<MockedResponse>": {"0": {"Return": {...}}, "1-2": {"Throw": {"Error": "...",
                                                                                      "Cause": "..."}}}}}

moto 5.2.5 carries the mock engine inside its ASL interpreter (``mocking.mock_config``,
``ExecutionWorker(mock_test_case=...)``) but offers no public way to load such a
file, so this module builds moto's ``MockTestCase`` itself and runs one
execution in-process. Everything else (Retry with its real backoff, Catch,
Choice, paths, intrinsics) is moto's interpreter, unchanged, except one patch
while a run lasts: moto's mocked ``Throw`` refuses ``States.*`` error names
(``States.TaskFailed`` is what a failed Batch job raises), so they are raised
as the States error they name. ``MOTO_VERSION`` pins the internals this relies
on; the canary test fails loudly if moto moves them.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

MOTO_VERSION = "5.2.5"


class MockConfigError(ValueError):
    """The mock configuration file is malformed or does not fit the definition."""


class MockEngineUnavailable(RuntimeError):
    """The installed moto does not have the internals this runner was written against."""


@dataclass
class MockRun:
    status: str  # SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    output: Any
    error: str | None
    cause: str | None
    events: list[dict[str, Any]]

    @property
    def states_entered(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.events if "stateEnteredEventDetails" in e]

    def task_failures(self, state: str | None = None) -> list[tuple[str | None, str | None]]:
        """(state, error) for every failed task attempt, in order."""
        out: list[tuple[str | None, str | None]] = []
        current: str | None = None
        for event in self.events:
            if "stateEnteredEventDetails" in event:
                current = event["stateEnteredEventDetails"]["name"]
            if event["type"] == "TaskFailed" and (state is None or current == state):
                out.append((current, event["taskFailedEventDetails"].get("error")))
        return out


def _moto() -> SimpleNamespace:
    """The moto internals used, imported in one place so the canary test can check them."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise MockEngineUnavailable(
            f"mock_config runner is pinned to moto {MOTO_VERSION}, found {moto.__version__}: "
            "re-check moto.stepfunctions.parser.mocking and ExecutionWorker, then update MOTO_VERSION"
        )
    try:
        from moto.stepfunctions.parser.api import StateMachineType
        from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import mock_eval_utils
        from moto.stepfunctions.parser.backend.execution import Execution
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
        from moto.stepfunctions.parser.mocking.mock_config import (
            MockedResponseReturn,
            MockedResponseThrow,
            MockTestCase,
            StateMockedResponses,
        )
    except ImportError as exc:
        raise MockEngineUnavailable(f"moto's mock engine moved: {exc}") from exc
    return SimpleNamespace(
        StateMachineType=StateMachineType,
        CustomErrorName=CustomErrorName,
        StatesErrorName=StatesErrorName,
        mock_eval_utils=mock_eval_utils,
        Execution=Execution,
        ExecutionWorker=ExecutionWorker,
        MockedResponseReturn=MockedResponseReturn,
        MockedResponseThrow=MockedResponseThrow,
        MockTestCase=MockTestCase,
        StateMockedResponses=StateMockedResponses,
    )


def load_mock_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MockConfigError(f"cannot read mock config {path}: {exc}") from exc
    if not isinstance(config, dict) or not {"StateMachines", "MockedResponses"} <= set(config):
        raise MockConfigError(f"{path}: expected an object with StateMachines and MockedResponses")
    return config


def build_test_case(config: dict[str, Any], state_machine: str, test_case: str) -> Any:
    m = _moto()
    try:
        cases = config["StateMachines"][state_machine]["TestCases"]
    except KeyError as exc:
        raise MockConfigError(f"no TestCases for state machine {state_machine!r}") from exc
    if test_case not in cases:
        raise MockConfigError(f"no test case {test_case!r} for {state_machine!r}")
    per_state = []
    for state, response_name in cases[test_case].items():
        ranges = config["MockedResponses"].get(response_name)
        if not ranges:
            raise MockConfigError(f"test case {test_case!r}: no MockedResponses entry {response_name!r}")
        responses = []
        for span, response in ranges.items():
            start, _, end = span.partition("-")
            first, last = int(start), int(end or start)
            if set(response) == {"Return"}:
                responses.append(m.MockedResponseReturn(first, last, response["Return"]))
            elif set(response) == {"Throw"}:
                throw = response["Throw"]
                responses.append(m.MockedResponseThrow(first, last, throw["Error"], throw.get("Cause")))
            else:
                raise MockConfigError(f"{response_name!r} {span!r}: expected exactly one of Return or Throw")
        per_state.append(m.StateMockedResponses(state, response_name, responses))
    return m.MockTestCase(state_machine, test_case, per_state)


_throw_patch_lock = threading.Lock()


@contextlib.contextmanager
def _states_errors_in_throw(m: SimpleNamespace) -> Iterator[None]:
    """Let a mocked Throw raise ``States.*`` errors, as Step Functions Local does.

    moto's ``_eval_mocked_response_throw`` wraps every mocked error in ``CustomErrorName``,
    which refuses the ``States.`` prefix; for the run, that name resolves to a factory
    that builds the States error instead.
    """

    def error_name(name: str) -> Any:
        if name.startswith("States."):
            return m.StatesErrorName.from_name(name)
        return m.CustomErrorName(name)

    with _throw_patch_lock:
        m.mock_eval_utils.CustomErrorName = error_name
        try:
            yield
        finally:
            m.mock_eval_utils.CustomErrorName = m.CustomErrorName


def run_mocked(
    definition: str,
    config: dict[str, Any],
    *,
    state_machine: str,
    test_case: str,
    execution_input: dict[str, Any],
    timeout_s: float = 60.0,
) -> MockRun:
    """Run ``definition`` once with the test case's mocked task results; wait for the end."""
    m = _moto()
    mock_test_case = build_test_case(config, state_machine, test_case)
    region, account = "us-east-1", "123456789012"
    machine = SimpleNamespace(
        arn=f"arn:aws:states:{region}:{account}:stateMachine:{state_machine}",
        name=state_machine,
        sm_type=m.StateMachineType.STANDARD,
        definition=definition,
    )

    class MockedExecution(m.Execution):  # type: ignore[misc,name-defined]
        def _get_start_execution_worker(self) -> Any:
            worker = super()._get_start_execution_worker()
            worker._mock_test_case = mock_test_case
            return worker

    execution = MockedExecution(
        name=test_case,
        sm_type=machine.sm_type,
        role_arn=f"arn:aws:iam::{account}:role/mock",
        exec_arn=f"arn:aws:states:{region}:{account}:execution:{state_machine}:{test_case}",
        account_id=account,
        region_name=region,
        state_machine=machine,
        start_date=datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        activity_store={},
        input_data=json.dumps(execution_input),
    )
    with _states_errors_in_throw(m):
        execution.start()
        deadline = time.monotonic() + timeout_s
        while execution.exec_status.value == "RUNNING":
            if time.monotonic() > deadline:
                raise TimeoutError(f"mocked execution {test_case!r} still running after {timeout_s} s")
            time.sleep(0.02)
    described = execution.to_describe_output()
    events = execution.to_history_output()["events"]
    return MockRun(
        status=described["status"].value if hasattr(described["status"], "value") else described["status"],
        output=json.loads(described["output"]) if described.get("output") else None,
        error=described.get("error"),
        cause=described.get("cause"),
        events=[dict(e, type=str(getattr(e["type"], "value", e["type"]))) for e in events],
    )
