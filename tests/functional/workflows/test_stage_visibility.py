"""Every state change of an execution reaches the status view by the next poll, over the real local stack:
the API app, the local states service, the real Lambdas and the real job CLI held at known points
(tests/fakes/paced_jobs.py). One job slot, taken by a held job, keeps a second execution queued for a GPU
for as long as the test looks; then each stage is held in turn. Nothing here depends on how fast the
machine is: each stage is held (or has ended for good) before the polls that must show it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiorch.analysis import AnalysisService
from aiorch.index import open_index
from aiorch.index.stages import QUEUED_FOR_GPU, running_words
from aiorch.settings import Settings
from aiorch.states import states_client
from aiorch.storage import open_app_storage
from lambdas.api.app import create_app
from tests.conftest import encode, photo
from tests.fakes import paced_jobs
from tests.functional.api.test_api_over_local_stack import headers_for, submit, upload
from tests.support import free_port, states_service_running, wait_for
from workflows.local.jobs import read_jobs

pytestmark = [pytest.mark.functional, pytest.mark.slow]

HOLD_S = 240  # generous: a held point is reached once the job's model has loaded, on a loaded machine too
RUN_S = 300
STATUS_READS = ("describe_execution", "get_execution_history")


class CountingStates:
    """The API's Step Functions client, counting the read calls a status poll must never make."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.reads: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in STATUS_READS:
            self.reads.append(name)
        return getattr(self._client, name)


def one_slot_stack(data_dir: Path, **overrides: Any) -> Settings:
    """One local job slot, jobs run by the paced job CLI (held only while the pace folder exists)."""
    return Settings(
        data_dir=data_dir,
        states_port=free_port(),
        job_slots=1,
        job_module="tests.fakes.paced_jobs",
        **overrides,
    )


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = one_slot_stack(tmp_path_factory.mktemp("stage-stack"))
    with states_service_running(settings):
        yield settings


@pytest.fixture(scope="module")
def states(stack_settings: Settings) -> CountingStates:
    return CountingStates(states_client(stack_settings))


@pytest.fixture(scope="module")
def client(stack_settings: Settings, states: CountingStates) -> TestClient:
    return TestClient(create_app(stack_settings, AnalysisService(stack_settings, states_client=states)))


def hold_folder(settings: Settings, user: str, execution_id: str, job: str) -> Path:
    """Where the paced job of one execution writes held-<n>.json and waits for go-<n>."""
    return paced_jobs.pace_root(settings) / user / execution_id / job


def hold_the_only_slot(client: TestClient, settings: Settings, headers: dict[str, str]) -> tuple[str, Path]:
    """Take the one job slot with an upscale of the user "holder" held in its model stage (the pace folder
    must exist); its execution id and hold folder, once it holds."""
    submitted = submit(client, headers, operation="upscale", upload=upload(client, headers, encode(photo(128))))
    held_id = submitted.json()["execution_id"]
    folder = hold_folder(settings, "holder", held_id, "upscale")
    wait_for((folder / "held-0.json").exists, HOLD_S, "the first job to hold the one slot")
    return held_id, folder


def let_go(folder: Path) -> None:
    """Let a held job run to its end: every hold it may still reach is answered in advance."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(4 * paced_jobs.QUARTERS):
        (folder / f"go-{n}").touch()


def queued_job(settings: Settings, execution_id: str) -> dict[str, Any] | None:
    """The execution's job as the local runner last wrote its list, when it waits for a slot."""
    for job in read_jobs(settings)["jobs"]:
        arn = next((e["value"] for e in job["container"]["environment"] if e["name"] == "AIORCH_EXECUTION_ARN"), "")
        if arn.endswith(execution_id) and job["status"] == "RUNNABLE":
            return dict(job)
    return None


def test_each_stage_of_a_queued_execution_is_seen_by_the_next_poll(
    client: TestClient, stack_settings: Settings, states: CountingStates
) -> None:
    holder, watcher = headers_for(stack_settings, "holder"), headers_for(stack_settings, "watcher")
    index = open_index(stack_settings, open_app_storage(stack_settings))
    seen: list[tuple[str, str | None, str | None]] = []  # (status, current_state, progress stage) of each poll

    def poll(execution_id: str) -> dict[str, Any]:
        view = client.get(f"/image-ai-analysis/{execution_id}", headers=watcher).json()
        seen.append((view["status"], view["current_state"], view["progress"]["stage"]))
        return dict(view)

    def next_two_polls(execution_id: str) -> list[dict[str, Any]]:
        return [poll(execution_id), poll(execution_id)]

    pace = paced_jobs.pace_root(stack_settings)
    pace.mkdir()
    try:
        held_id, holder_folder = hold_the_only_slot(client, stack_settings, holder)

        key = upload(client, watcher, encode(photo(128)))
        execution_id = submit(client, watcher, operation="upscale", upload=key).json()["execution_id"]
        first = poll(execution_id)  # validation may be queued, under way or done: never a later stage
        assert first["status"] == "RUNNING" and first["current_state"] in ("ValidateInput", "Upscale"), first

        # Queued for a GPU: held there by the taken slot, for as long as the test looks.
        wait_for(lambda: queued_job(stack_settings, execution_id), HOLD_S, "the second job to wait for the slot")
        # The runner wrote the stage as it queued the job (before listing it), so both polls say it in words.
        for view in next_two_polls(execution_id):
            assert view["status"] == "RUNNING" and view["current_state"] == "Upscale", view
            assert view["progress"]["stage"] == "Upscale" and view["progress"]["total"] == 0, view  # no job stage yet
            assert view["stage"] == QUEUED_FOR_GPU, view

        # Running upscale: the slot freed, the job held at its first progress point.
        let_go(holder_folder)
        watcher_folder = hold_folder(stack_settings, "watcher", execution_id, "upscale")
        held = wait_for(lambda: _read_json(watcher_folder / "held-0.json"), HOLD_S, "the second job to hold")
        for view in next_two_polls(execution_id):
            assert view["status"] == "RUNNING" and view["current_state"] == "Upscale", view
            progress = view["progress"]
            assert (progress["stage"], progress["done"], progress["total"]) == (
                held["stage"],
                held["done"],
                held["total"],
            ), view
        # Written by the runner when it started the job (after the round that started it, so waited for);
        # then the next two polls say it, the job still held where it was.
        wait_for(lambda: index.get("watcher", execution_id).stage == running_words("upscale"), 60, "the running stage")
        for view in next_two_polls(execution_id):
            assert (view["status"], view["current_state"], view["stage"]) == (
                "RUNNING",
                "Upscale",
                running_words("upscale"),
            )
            assert view["progress"]["stage"] == held["stage"], view

        # The end: once the index says so, the next poll does.
        let_go(watcher_folder)
        wait_for(lambda: index.get("watcher", execution_id).status.is_final, RUN_S, "the execution to end")
        for view in next_two_polls(execution_id):
            assert view["status"] == "SUCCEEDED" and view["progress"]["percent"] == 100, view
            assert view["stage"] is None and view["stage_at"] is None, view  # an ended run waits for nothing
    finally:
        shutil.rmtree(pace, ignore_errors=True)  # any job still held runs on, freely

    # Seen in order, never a step back (recording shows between the job and the end when a poll catches it).
    order = ["ValidateInput", "queued", "running", "RecordResult", "SUCCEEDED"]
    ranks = [order.index(_step(s)) for s in seen]
    assert ranks == sorted(ranks), seen
    assert {"queued", "running", "SUCCEEDED"} <= {_step(s) for s in seen}, seen
    assert states.reads == [], "a status poll called a Step Functions read API"
    wait_for(lambda: index.get("holder", held_id).status.is_final, RUN_S, "the first execution to end")


def _step(poll: tuple[str, str | None, str | None]) -> str:
    status, state, stage = poll
    if status != "RUNNING":
        return status
    if state == "Upscale":
        return "queued" if stage == state else "running"
    return str(state)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
