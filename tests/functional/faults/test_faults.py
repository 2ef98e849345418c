"""Fault injection over the local stack, with the REAL status-change handler (no fake records the
crash): kill -9 of a job and of the states service, and 30 concurrent submits by one user and by
three, sampled from Step Functions' own ListExecutions. The Lambdas of the happy path and the job
CLI are the fakes (tests/fakes): the model is not the point here, time is."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiorch.analysis import AnalysisService, TooManyRunning
from aiorch.contracts import ExecutionRecord, ExecutionStatus
from aiorch.index import open_index
from aiorch.settings import Settings
from aiorch.states import states_client
from tests.conftest import encode, photo
from tests.functional.workflows.states_harness import FAKE_DISPATCH, make_settings, wait_for
from workflows.local.client import ensure_service, pid_alive, service_pid, stop_service

pytestmark = [pytest.mark.functional, pytest.mark.slow]

LIMIT = 4
REAL_STATUS_CHANGE = FAKE_DISPATCH | {"status_change_handler": "lambdas.status_change.handler:handler"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp("faults")
    settings = make_settings(data_dir, job_slots=3, max_running_executions_per_user=LIMIT)
    settings.states_dispatch_file.write_text(json.dumps(REAL_STATUS_CHANGE))  # type: ignore[union-attr]
    ensure_service(settings, timeout_s=90)
    try:
        yield settings
    finally:
        stop_service(settings)


@pytest.fixture(autouse=True)
def fake_job_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake job's ``sleep_s`` is no real option, and the option schema is not under test here:
    the submit path skips it (everything else of submit, the index transaction above all, runs)."""
    monkeypatch.setattr("aiorch.analysis.commands.check_options", lambda operation, options: None, raising=False)


def service(settings: Settings) -> AnalysisService:
    return AnalysisService(settings, states_client=states_client(settings))


def upload(settings: Settings, user: str) -> str:
    return service(settings).store_upload(user, encode(photo(32))).key


def running_in_states(settings: Settings) -> list[str]:
    client = states_client(settings)
    names: list[str] = []
    for page in client.get_paginator("list_executions").paginate(
        stateMachineArn=settings.resolved_state_machine_arn, statusFilter="RUNNING"
    ):
        names += [e["name"] for e in page["executions"]]
    return names


def final_record(settings: Settings, user: str, execution_id: str, timeout_s: float = 60) -> ExecutionRecord:
    index = open_index(settings)
    return wait_for(
        lambda: (r := index.get(user, execution_id)) is not None and r.status.is_final and r,
        timeout_s,
        f"execution {execution_id} to be finalised in the index",
    )


def job_pid(settings: Settings, user: str, execution_id: str, job: str = "upscale") -> int:
    return started_job_pid(settings, user, [execution_id], job)


def started_job_pid(settings: Settings, user: str, execution_ids: list[str], job: str = "upscale") -> int:
    """The pid of the first of these executions' jobs to start."""
    root = Path(settings.resolved_storage_url) / "results" / user

    def first_started() -> int | None:
        for execution_id in execution_ids:
            pid_file = root / execution_id / job / "pid"
            if pid_file.is_file() and (text := pid_file.read_text().strip()):
                return int(text)
        return None

    return int(wait_for(first_started, 60, f"one of {len(execution_ids)} {job} jobs to start"))


def assert_index_agrees_with_states(settings: Settings, user: str, ids: list[str]) -> None:
    client = states_client(settings)
    index = open_index(settings)
    for execution_id in ids:
        record = final_record(settings, user, execution_id)
        described = client.describe_execution(executionArn=record.execution_arn)
        assert described["status"] == record.status.value, execution_id
    assert index.running_count(user) == 0
    assert index.sweep() == []  # the transactions kept the counters exact: nothing to correct


def submit_until_accepted(settings: Settings, user: str, key: str, deadline: float) -> str:
    own = service(settings)  # its own boto3 client and index connection, as a separate request would have
    while time.monotonic() < deadline:
        try:
            return own.submit(user, "upscale", key, options={"sleep_s": 0.3}).execution_id
        except TooManyRunning:
            time.sleep(0.2)
    raise AssertionError(f"{user}'s submit was refused until the deadline")


@pytest.mark.parametrize("users", [["solo"], ["ann", "ben", "cat"]], ids=["one-user", "three-users"])
def test_30_concurrent_submits_never_pass_the_limit(stack: Settings, users: list[str]) -> None:
    keys = {user: upload(stack, user) for user in users}
    accepted: dict[str, str] = {}  # execution id -> user
    samples: list[list[str]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(running_in_states(stack))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    deadline = time.monotonic() + 150
    errors: list[BaseException] = []

    def client(user: str) -> None:
        try:
            accepted[submit_until_accepted(stack, user, keys[user], deadline)] = user
        except BaseException as exc:  # reported below: a thread's assertion would vanish
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(users[i % len(users)],)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        assert len(accepted) == 30
        wait_for(lambda: not set(running_in_states(stack)) & set(accepted), 120, "every accepted execution to end")
    finally:
        done.set()
        sampler.join()

    assert len(samples) > 10  # the sampler really watched the run
    peak = Counter[str]()
    for names in samples:
        per_user = Counter(accepted[n] for n in names if n in accepted)
        for user, running in per_user.items():
            peak[user] = max(peak[user], running)
    assert set(peak) == set(users)
    assert max(peak.values()) <= LIMIT, peak
    for user in users:
        assert_index_agrees_with_states(stack, user, [i for i, u in accepted.items() if u == user])


def test_a_killed_job_is_recorded_failed(stack: Settings) -> None:
    user = "kay"
    record = service(stack).submit(user, "upscale", upload(stack, user), options={"sleep_s": 60})
    os.kill(job_pid(stack, user, record.execution_id), signal.SIGKILL)

    final = final_record(stack, user, record.execution_id)
    assert final.status is ExecutionStatus.FAILED and final.error_message
    assert_index_agrees_with_states(stack, user, [record.execution_id])


def test_state_history_survives_a_restart_of_the_states_service(
    stack: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from aiorch.index.history import history_key
    from aiorch.settings import get_settings
    from aiorch_local.cli import cli
    from workflows.local.client import settings_env

    user = stack.local_user
    record = service(stack).submit(user, "upscale", upload(stack, user), options={"sleep_s": 0.2})
    assert final_record(stack, user, record.execution_id).status is ExecutionStatus.SUCCEEDED
    stored = Path(stack.resolved_storage_url) / history_key(user, record.execution_id)
    wait_for(lambda: stored.is_file() and b"ExecutionSucceeded" in stored.read_bytes(), 30, "the history to be stored")

    stop_service(stack)
    ensure_service(stack, timeout_s=90)  # a new service: moto's memory of the execution is gone

    events = service(stack).history(user, record.execution_id)
    assert events[-1]["type"] == "ExecutionSucceeded"
    for name, value in settings_env(stack).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    shown = CliRunner().invoke(cli, ["executions", "show", record.execution_id])
    get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    assert "no state history" not in shown.output
    assert "Upscale" in shown.output and "→" in shown.output  # each state with its enter and exit times


def test_states_service_killed_mid_job_is_recorded_by_the_real_handler(stack: Settings) -> None:
    user = "rex"
    svc = service(stack)
    key = upload(stack, user)
    records = [svc.submit(user, "upscale", key, options={"sleep_s": 60}) for _ in range(LIMIT)]
    # LIMIT executions on 3 job slots: one of them waits for a slot, and which one is the states
    # service's race, so the test waits for whichever job starts first (not records[0]'s).
    job = started_job_pid(stack, user, [r.execution_id for r in records])
    with pytest.raises(TooManyRunning):  # at the limit, as before the fix
        svc.submit(user, "upscale", key)
    pid = service_pid(stack)
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid), 10, "the states service to die")
    wait_for(lambda: not pid_alive(job), 10, "its job to die with it")
    ensure_service(stack, timeout_s=90)

    for record in records:
        final = final_record(stack, user, record.execution_id)
        assert final.status is ExecutionStatus.INTERRUPTED and final.recorded_by == "StatusChange"
        assert final.error_type == "Local.ServiceInterrupted" and final.error_message
    index = open_index(stack)
    assert index.running_count(user) == 0 and not list(index.running())
    assert not running_in_states(stack)
    # The user is not locked out: a new submit is accepted and runs to its end.
    again = svc.submit(user, "upscale", key, options={"sleep_s": 0.2})
    assert final_record(stack, user, again.execution_id).status is ExecutionStatus.SUCCEEDED
