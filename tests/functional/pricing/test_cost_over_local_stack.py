"""A price on every run, over the real local stack (the states service, the real Lambdas, real jobs):
a finished upscale's cost is its device seconds at the configured local price, in the API's view, the
CLI's `executions show` and the analytics row; a spent monthly budget refuses the next submit in words."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiorch.analytics.local import LocalRunner
from aiorch.pricing import month_resets_at
from aiorch.settings import Settings
from tests.conftest import encode, photo
from tests.functional.api.test_api_over_local_stack import headers_for, upload
from tests.support import api_client, free_port, states_service_running
from workflows.local.client import settings_env

pytestmark = [pytest.mark.functional, pytest.mark.slow]

# $36 an hour is a cent a second: any job's device seconds (imports, decode, model, encode: well over
# 0.1 s) cost more than the budget below, while the estimate (0.05 s an image) fits it.
PRICE_PER_HOUR_USD = 36.0
BUDGET_USD = 0.001
ESTIMATE_SECONDS_PER_IMAGE = 0.05


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("priced-stack"),
        states_port=free_port(),
        local_price_per_gpu_hour_usd=PRICE_PER_HOUR_USD,
        monthly_budget_usd=BUDGET_USD,
        queue_seconds_per_image=ESTIMATE_SECONDS_PER_IMAGE,
    )
    with states_service_running(settings):
        yield settings


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> TestClient:
    return api_client(stack_settings)


def wait_for_end(client: TestClient, headers: dict[str, str], execution_id: str, timeout_s: float = 240) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.get(f"/image-ai-analysis/{execution_id}", headers=headers).json()
        if status["status"] != "RUNNING":
            return status
        time.sleep(0.3)
    pytest.fail(f"{execution_id} did not end in {timeout_s} s: {status}")


def test_a_finished_run_costs_its_device_seconds_at_the_price_and_a_spent_budget_refuses_the_next(
    client: TestClient, stack_settings: Settings
) -> None:
    erin = headers_for(stack_settings, "erin")
    key = upload(client, erin, encode(photo(32)))
    submitted = client.post("/image-ai-analysis", json={"operation": "upscale", "upload": key}, headers=erin)
    assert submitted.status_code == 202, submitted.text
    execution_id = submitted.json()["execution_id"]

    view = wait_for_end(client, erin, execution_id)
    assert view["estimated_cost_usd"] == pytest.approx(PRICE_PER_HOUR_USD / 3600 * ESTIMATE_SECONDS_PER_IMAGE)
    assert view["status"] == "SUCCEEDED", view
    cost = view["cost"]
    job_seconds = view["metadata"]["upscale"]["timings_s"]["total"]
    assert cost["device_seconds"] == pytest.approx(job_seconds) and job_seconds > 0.1
    assert cost["usd_per_second"] == pytest.approx(PRICE_PER_HOUR_USD / 3600)
    assert cost["usd"] == pytest.approx(PRICE_PER_HOUR_USD / 3600 * job_seconds) and cost["usd"] > 0
    assert cost["instance_type"] == "local" and cost["capacity"] == "local"
    assert cost["price_source"].startswith("local: configured $36.0/h")

    # The CLI shows the same run's cost (same data dir and states service).
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIORCH_")} | settings_env(stack_settings)
    shown = subprocess.run(
        [sys.executable, "-m", "aiorch_local.cli", "executions", "show", execution_id, "--user", "erin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    (line,) = [line for line in shown.stdout.splitlines() if line.startswith("cost ")]
    assert line.startswith(f"cost ${cost['usd']:.4f} ({job_seconds:.1f} device s at $0.010000/s; local: configured")

    # The analytics row of the run carries the same cost.
    rows = (
        LocalRunner(stack_settings.resolved_storage_url)
        .run(f"SELECT cost_usd FROM results WHERE execution_id = '{execution_id}'")
        .rows
    )
    assert rows == [{"cost_usd": pytest.approx(cost["usd"])}]

    # The first run spent more than the month's budget: the next submit is refused, in words, with
    # what is left and when it resets, and nothing is started.
    refused = client.post("/image-ai-analysis", json={"operation": "upscale", "upload": key}, headers=erin)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    detail = refused.json()["detail"]
    resets = month_resets_at(datetime.now(UTC))
    assert "your monthly budget is spent: $0.0000 of $0.0010 is left" in detail, detail
    assert f"the budget resets on {resets:%Y-%m-%d} 00:00 UTC" in detail, detail
    assert re.search(r"this run is estimated at \$0\.0005", detail), detail
    assert 0 < int(refused.headers["retry-after"]) <= 31 * 86400
    listed = client.get("/image-ai-analysis", headers=erin).json()["items"]
    assert [e["execution_id"] for e in listed] == [execution_id]

    # Another user's month is their own.
    frank = headers_for(stack_settings, "frank")
    other = client.post(
        "/image-ai-analysis",
        json={"operation": "upscale", "upload": upload(client, frank, encode(photo(32)))},
        headers=frank,
    )
    assert other.status_code == 202, other.text
    assert wait_for_end(client, frank, other.json()["execution_id"])["status"] == "SUCCEEDED"
