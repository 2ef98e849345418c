"""A disk that fills while a job runs must not stop every later job (the second fault sweep).

The real local states service and its real job dispatcher, with the real status-change handler; the
status-file write of the dispatcher raises ENOSPC once, in the service's own process, while a job
runs (tests/functional/faults/full_disk.py). Before the fix the dispatcher thread died there: the
job's end was never noticed, every later execution stayed RUNNING and the user was locked out."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from aiorch.analysis import AnalysisService
from aiorch.contracts import ExecutionStatus
from aiorch.index import open_index
from aiorch.settings import Settings
from aiorch.states import states_client
from tests.conftest import encode, photo
from tests.functional.workflows.states_harness import FAKE_DISPATCH, make_settings, wait_for
from workflows.local.client import ensure_service, service_pid, stop_service

pytestmark = [pytest.mark.functional, pytest.mark.slow]

LIMIT = 4
DISPATCH = FAKE_DISPATCH | {
    "status_change_handler": "lambdas.status_change.handler:handler",
    "extra_hooks": ["tests.functional.faults.full_disk"],
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp("full-disk")
    settings = make_settings(
        data_dir, job_module="tests.functional.faults.full_disk", max_running_executions_per_user=LIMIT
    )
    settings.states_dispatch_file.write_text(json.dumps(DISPATCH))  # type: ignore[union-attr]
    ensure_service(settings, timeout_s=90)
    try:
        yield settings
    finally:
        stop_service(settings)


@pytest.fixture(autouse=True)
def fake_job_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake job's options (``sleep_s``, ``disk_full``) are no real options: submit skips the schema."""
    monkeypatch.setattr("aiorch.analysis.commands.check_options", lambda operation, options: None, raising=False)


def test_a_disk_that_fills_while_a_job_runs_fails_that_execution_and_the_next_succeeds(stack: Settings) -> None:
    user = "dee"
    svc = AnalysisService(stack, states_client=states_client(stack))
    key = svc.store_upload(user, encode(photo(32))).key
    index = open_index(stack)
    pid = service_pid(stack)
    faults = stack.data_dir / "full_disk.json"
    faults.write_text(json.dumps({"status_file": 1}))

    full = svc.submit(user, "upscale", key, options={"disk_full": True, "sleep_s": 1.5})
    wait_for(lambda: json.loads(faults.read_text())["status_file"] == 0, 30, "the write to hit the full disk")
    failed = wait_for(
        lambda: (r := index.get(user, full.execution_id)) is not None and r.status.is_final and r,
        60,
        "the execution that met the full disk to be recorded",
    )
    assert failed.status is ExecutionStatus.FAILED
    assert failed.error_message and "the disk is full" in failed.error_message

    # Space is free again: later executions run to their end, more of them than the running limit,
    # on the same service (nothing was restarted).
    for _ in range(LIMIT + 1):
        later = svc.submit(user, "upscale", key, options={"sleep_s": 0.1})
        done = wait_for(
            lambda: (r := index.get(user, later.execution_id)) is not None and r.status.is_final and r,  # noqa: B023
            60,
            "a later execution to end",
        )
        assert done.status is ExecutionStatus.SUCCEEDED, done
    assert service_pid(stack) == pid
    assert index.running_count(user) == 0
