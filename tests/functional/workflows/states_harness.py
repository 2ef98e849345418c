"""Helpers for tests over the local states service: a free port, a temporary data dir, the fakes.

The fakes (tests.fakes) stand in for the Lambdas and the job CLI and
log every call, so each test can check what really ran.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ulid import ULID

from aiorch.contracts import ExecutionRecord
from aiorch.index import ExecutionIndex, open_index
from aiorch.settings import Settings
from aiorch.storage import open_app_storage
from tests.fakes import read_calls
from tests.support import free_port, wait_for  # re-exported: the suites import both from here

USER = "local"
FAKE_DISPATCH = {
    "functions": {
        "aiorch-validate-input": "tests.fakes.handlers:validate_input",
        "aiorch-record-result": "tests.fakes.handlers:record_result",
        "aiorch-record-failure": "tests.fakes.handlers:record_failure",
    },
    "status_change_handler": "tests.fakes.handlers:status_change",
    "extra_hooks": ["tests.fakes.faults"],
}


@dataclass
class LocalStates:
    settings: Settings
    client: Any

    @property
    def index(self) -> ExecutionIndex:
        return open_index(self.settings, open_app_storage(self.settings))

    def start(self, operation: str, **options: Any) -> tuple[str, str]:
        """Create the index record (as the CLI/API do), then StartExecution. Returns (id, ARN)."""
        execution_id = str(ULID())
        request = {
            "execution_id": execution_id,
            "user": USER,
            "operation": operation,
            "input_key": f"uploads/{USER}/up1/original.png",
            "options": options,
        }
        record = ExecutionRecord(
            execution_id=execution_id, user=USER, operation=operation, input_key=request["input_key"]
        )
        assert self.index.create(record)
        answer = self.client.start_execution(
            stateMachineArn=self.settings.resolved_state_machine_arn,
            name=execution_id,
            input=json.dumps({"request": request}),
        )
        return execution_id, answer["executionArn"]

    def wait(self, arn: str, timeout_s: float = 30) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            described = self.client.describe_execution(executionArn=arn)
            return None if described["status"] == "RUNNING" else described

        return wait_for(finished, timeout_s, f"execution {arn} to end")

    def calls(self, kind: str, execution_id: str | None = None) -> list[dict[str, Any]]:
        calls = read_calls(self.settings, kind)
        if execution_id is None:
            return calls
        return [c for c in calls if execution_id in json.dumps(c)]

    def job_dir(self, execution_id: str, job: str) -> Path:
        return Path(self.settings.resolved_storage_url) / "results" / USER / execution_id / job

    def set_faults(self, faults: dict[str, Any]) -> None:
        (self.settings.data_dir / "faults.json").write_text(json.dumps(faults))


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    dispatch = data_dir / "dispatch.json"
    dispatch.write_text(json.dumps(FAKE_DISPATCH))
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "storage_url": str(data_dir / "storage"),
        "states_port": free_port(),
        "states_dispatch_file": dispatch,
        "job_module": "tests.fakes.jobs",
        "job_slots": 2,
        "job_stop_check_s": 0.5,
        # Cold job processes: these tests count jobs by pid and kill jobs by pid (warm workers: test_job_workers.py).
        "job_workers": False,
    }
    return Settings(**(values | overrides))
