"""The API over the real AnalysisService and local storage, with Step Functions replaced by a small fake."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from aiorch.analysis import AnalysisService
from aiorch.settings import Settings
from lambdas.api.app import create_app
from lambdas.api.auth import LocalIssuer
from tests.fakes.states import FakeStates


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
