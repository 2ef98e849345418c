"""The API over the real AnalysisService and local storage, with Step Functions replaced by a small fake."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient

from aiorch.analysis import AnalysisService
from aiorch.settings import Settings
from lambdas.api.app import create_app
from lambdas.api.auth import LocalIssuer


class FakeStates:
    """The four Step Functions calls AnalysisService makes, kept in memory."""

    def __init__(self) -> None:
        self.executions: dict[str, dict[str, Any]] = {}

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        arn = stateMachineArn.replace(":stateMachine:", ":execution:") + f":{name}"
        now = datetime.now(UTC)
        self.executions[arn] = {
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

    def _get(self, arn: str) -> dict[str, Any]:
        if arn not in self.executions:
            raise ClientError({"Error": {"Code": "ExecutionDoesNotExist"}}, "DescribeExecution")
        return self.executions[arn]

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return {"executionArn": executionArn, "status": self._get(executionArn)["status"]}

    def stop_execution(self, executionArn: str, error: str = "", cause: str = "") -> dict[str, Any]:
        execution = self._get(executionArn)
        execution["status"] = "ABORTED"
        execution["stopDate"] = datetime.now(UTC)
        execution["events"].append({"id": 3, "type": "ExecutionAborted", "timestamp": execution["stopDate"]})
        return {"stopDate": execution["stopDate"]}

    def get_execution_history(self, executionArn: str, reverseOrder: bool = False, **_: Any) -> dict[str, Any]:
        events = list(self._get(executionArn)["events"])
        return {"events": events[::-1] if reverseOrder else events}


@pytest.fixture
def states() -> FakeStates:
    return FakeStates()


@pytest.fixture
def service(settings: Settings, states: FakeStates) -> AnalysisService:
    return AnalysisService(settings, states_client=states)


@pytest.fixture
def client(settings: Settings, service: AnalysisService) -> TestClient:
    return TestClient(create_app(settings, service), base_url="http://127.0.0.1:8000")


@pytest.fixture
def token_for(settings: Settings) -> Callable[[str], str]:
    issuer = LocalIssuer(settings)
    return lambda user: issuer.issue(user)


@pytest.fixture
def alice(token_for: Callable[[str], str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('alice')}"}


@pytest.fixture
def bob(token_for: Callable[[str], str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for('bob')}"}


Upload = Callable[..., str]


@pytest.fixture
def upload(client: TestClient) -> Upload:
    return lambda headers, data, content_type="image/png": upload_with(client, headers, data, content_type)


def upload_with(client: TestClient, headers: dict[str, str], data: bytes, content_type: str) -> str:
    """The browser's two steps: ask for a target, then POST the form to it. Returns the upload key."""
    target = client.post("/uploads", json={"content_type": content_type}, headers=headers)
    assert target.status_code == 201, target.text
    body = target.json()
    sent = client.post(body["url"], data=body["fields"], files={"file": ("photo", data, content_type)})
    assert sent.status_code == 201, sent.text
    return str(sent.json()["upload"])
