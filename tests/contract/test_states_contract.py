"""Every stand-in for Step Functions answers like the real local states service (moto, in its own process).

The same assertions run on each fake the unit tests use and on the real service: history order and
paging (moto ignores ``reverseOrder`` and ``maxResults``), the error shape for an unknown execution,
and what AnalysisService reads from the history (the latest state entered). A fake that honoured
``reverseOrder`` let a service that asked for "newest first" pass its unit tests while the real service
showed ValidateInput for a whole run; here that fake fails.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aiorch.analysis import AnalysisService
from aiorch.contracts import ExecutionRecord
from aiorch.ids import new_id
from aiorch.settings import Settings
from aiorch.states import history_events, states_client
from tests.fakes import read_calls
from tests.fakes.states import FakeStates
from tests.functional.workflows.states_harness import make_settings, wait_for
from workflows.local.client import ensure_service, stop_service

pytestmark = [pytest.mark.functional]

USER = "local"


@dataclass
class Subject:
    """One Step Functions stand-in, and how to bring one of its executions into the job state."""

    name: str
    client: Any
    settings: Settings
    reach_job_state: Callable[[str, str], None]  # (execution id, ARN) -> returns once "Upscale" was entered


@pytest.fixture(scope="module")
def real_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = make_settings(tmp_path_factory.mktemp("contract-states"))
    ensure_service(settings, timeout_s=60)
    try:
        yield settings
    finally:
        stop_service(settings)


@pytest.fixture(params=["real local states service", "tests.fakes.states.FakeStates"])
def subject(request: pytest.FixtureRequest, tmp_path: Any) -> Subject:
    if request.param == "tests.fakes.states.FakeStates":
        fake = FakeStates()
        settings = make_settings(tmp_path)
        return Subject(request.param, fake, settings, lambda _id, arn: fake.enter(arn, "Upscale"))
    settings = request.getfixturevalue("real_service")

    def job_started(execution_id: str, _arn: str) -> None:
        wait_for(
            lambda: any(execution_id in json.dumps(c) for c in read_calls(settings, "job_started")),
            60,
            "the upscale job to start",
        )

    return Subject(request.param, states_client(settings), settings, job_started)


def start(subject: Subject, **options: Any) -> tuple[ExecutionRecord, str]:
    """Index record first (as the service does), then StartExecution with a fake job that works for a while."""
    execution_id = new_id()
    request = {
        "execution_id": execution_id,
        "user": USER,
        "operation": "upscale",
        "input_key": f"uploads/{USER}/up1/original.png",
        "options": {"sleep_s": 30, **options},
    }
    record = ExecutionRecord(**request)
    service = AnalysisService(subject.settings, states_client=subject.client)
    service.index.create(record)
    answer = subject.client.start_execution(
        stateMachineArn=subject.settings.resolved_state_machine_arn,
        name=execution_id,
        input=json.dumps({"request": request}),
    )
    record.execution_arn = answer["executionArn"]
    return record, answer["executionArn"]


@pytest.fixture
def running(subject: Subject) -> Iterator[tuple[ExecutionRecord, str]]:
    record, arn = start(subject)
    subject.reach_job_state(record.execution_id, arn)
    yield record, arn
    with contextlib.suppress(ClientError):
        subject.client.stop_execution(executionArn=arn, error="Cancelled", cause="test over")


def test_history_is_oldest_first_whatever_reverse_order_and_max_results_say(subject, running) -> None:
    _record, arn = running
    forward = subject.client.get_execution_history(executionArn=arn)["events"]
    asked_reversed = subject.client.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=2)
    assert forward[0]["type"] == "ExecutionStarted"
    assert [e["id"] for e in forward] == sorted(e["id"] for e in forward)
    # Both parameters are ignored: the same events, oldest first, all of them, no next page.
    assert [e["id"] for e in asked_reversed["events"]] == [e["id"] for e in forward]
    assert len(asked_reversed["events"]) > 2
    assert not asked_reversed.get("nextToken")
    assert [e["id"] for e in history_events(subject.client, arn)] == [e["id"] for e in forward]


def test_the_latest_state_entered_is_the_job_state(subject, running) -> None:
    record, arn = running
    entered = [e for e in history_events(subject.client, arn) if e["type"].endswith("StateEntered")]
    assert entered[-1]["stateEnteredEventDetails"]["name"] == "Upscale"
    service = AnalysisService(subject.settings, states_client=subject.client)
    assert service._state_from_history(record) == "Upscale"


@pytest.mark.parametrize("call", ["describe_execution", "get_execution_history", "stop_execution"])
def test_an_unknown_execution_is_execution_does_not_exist(subject, call) -> None:
    arn = subject.settings.resolved_state_machine_arn.replace(":stateMachine:", ":execution:") + f":{new_id()}"
    with pytest.raises(ClientError) as raised:
        getattr(subject.client, call)(executionArn=arn)
    assert raised.value.response["Error"]["Code"] == "ExecutionDoesNotExist"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def stop_execution(client: Any, arn: str, attempts: int = 6) -> None:
    """StopExecution, retried on the 500 moto's interpreter sometimes answers under load (as the service does)."""
    for attempt in range(attempts):
        try:
            client.stop_execution(executionArn=arn, error="Cancelled", cause="test")
            return
        except ClientError as exc:
            if exc.response["ResponseMetadata"]["HTTPStatusCode"] != 500 or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def test_a_stopped_execution_is_described_as_aborted(subject) -> None:
    _record, arn = start(subject)
    stop_execution(subject.client, arn)
    # Generous waits: they return as soon as the stop shows, and a loaded CI machine took over 30 s.
    described = wait_for(
        lambda: (d := subject.client.describe_execution(executionArn=arn))["status"] != "RUNNING" and d, 90, "the stop"
    )
    assert described["status"] == "ABORTED"
    assert described["stopDate"] >= described["startDate"]
    # moto writes the end event after the status: wait for it rather than read it once.
    wait_for(lambda: history_events(subject.client, arn)[-1]["type"] == "ExecutionAborted", 90, "ExecutionAborted")


def test_the_local_service_writes_each_jobs_stage_to_the_index(subject, running) -> None:
    """Status from our own records: the local service's job runner writes a job queued or started to its
    execution's index record (as Batch's job state changes do in AWS), so a poll needs no history."""
    if isinstance(subject.client, FakeStates):
        pytest.skip("the fake runs no job: the real service's hooks are what is checked")
    record, _arn = running
    index = AnalysisService(subject.settings, states_client=subject.client).index

    def staged() -> bool:
        now = index.get(record.user, record.execution_id)
        return now is not None and (now.current_state, now.stage) == ("Upscale", "running upscale")

    wait_for(staged, 30, "the running job's stage in the index")
