"""An execution that waits longer than gpu_wait_limit_s for a GPU ends FAILED saying so, and its job never
starts, over the real local stack (the API app, the local states service, the real Lambdas, the real job
CLI). The one job slot is taken by a job held in its model stage (tests/fakes/paced_jobs.py), so the second
job waits for as long as the test says, whatever the machine."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from aiorch.index import open_index
from aiorch.settings import Settings
from aiorch.storage import open_app_storage
from tests.conftest import encode, photo
from tests.fakes import paced_jobs
from tests.functional.api.test_api_over_local_stack import headers_for, submit, upload
from tests.functional.workflows.test_stage_visibility import RUN_S, hold_the_only_slot, let_go, one_slot_stack
from tests.support import api_client, states_service_running, wait_for
from workflows.local.jobs import read_jobs

pytestmark = [pytest.mark.functional, pytest.mark.slow]

GPU_WAIT_LIMIT_S = 2.0


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = one_slot_stack(tmp_path_factory.mktemp("gpu-wait-stack"), gpu_wait_limit_s=GPU_WAIT_LIMIT_S)
    with states_service_running(settings):
        yield settings


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> TestClient:
    return api_client(stack_settings)


def test_an_execution_queued_past_the_limit_fails_saying_why_and_its_job_never_runs(
    client: TestClient, stack_settings: Settings
) -> None:
    holder, waiter = headers_for(stack_settings, "holder"), headers_for(stack_settings, "waiter")
    index = open_index(stack_settings, open_app_storage(stack_settings))
    pace = paced_jobs.pace_root(stack_settings)
    pace.mkdir()
    try:
        held_id, holder_folder = hold_the_only_slot(client, stack_settings, holder)

        key = upload(client, waiter, encode(photo(48)))
        waiting_id = submit(client, waiter, operation="denoise", upload=key, options={"method": "tv"})
        waiting_id = waiting_id.json()["execution_id"]
        wait_for(lambda: index.get("waiter", waiting_id).status.is_final, RUN_S, "the waiting execution to end")
        view = client.get(f"/image-ai-analysis/{waiting_id}", headers=waiter).json()
        assert view["status"] == "FAILED", view
        # The runner's reason, named by its job, and nothing more: the job never ran, so no words of a
        # job that "ended without reporting an error".
        assert view["error"] == {
            "type": "JobNotStarted",
            "message": f"denoise: waited more than {GPU_WAIT_LIMIT_S:g} s for a free GPU; try again later",
        }, view
        assert (holder_folder / "held-0.json").exists() and not (holder_folder / "go-0").exists()  # still held

        # Its job never ran; the only job still active is the held one.
        jobs = read_jobs(stack_settings)["jobs"]
        (waited,) = [j for j in jobs if j["container"]["command"][0] == "denoise"]
        assert waited["status"] == "FAILED" and "startedAt" not in waited and waited.get("pid") is None, waited
        assert [j["jobName"] for j in jobs if j["status"] not in ("SUCCEEDED", "FAILED")] == [
            next(j["jobName"] for j in jobs if j["container"]["command"][0] == "upscale")
        ]

        let_go(holder_folder)
        wait_for(lambda: index.get("holder", held_id).status.is_final, RUN_S, "the held execution to end")
    finally:
        shutil.rmtree(pace, ignore_errors=True)  # any job still held runs on, freely
    assert client.get(f"/image-ai-analysis/{held_id}", headers=holder).json()["status"] == "SUCCEEDED"

    # Nothing left running, and with the slot free again the next submit runs to its end.
    assert all(j["status"] in ("SUCCEEDED", "FAILED") for j in read_jobs(stack_settings)["jobs"])
    again = submit(client, waiter, operation="denoise", upload=key, options={"method": "tv"}).json()["execution_id"]
    wait_for(lambda: index.get("waiter", again).status.is_final, RUN_S, "the next execution to end")
    assert client.get(f"/image-ai-analysis/{again}", headers=waiter).json()["status"] == "SUCCEEDED"
