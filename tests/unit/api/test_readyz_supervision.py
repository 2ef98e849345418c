"""/readyz names no internal endpoint when the states service is down, and says what `aiorch serve`'s
supervisor is doing about it (restarting it, how often)."""

from __future__ import annotations

import json
import os

import pytest
from botocore.exceptions import EndpointConnectionError
from fastapi.testclient import TestClient

from aiorch.analysis import StatesUnavailable
from aiorch.settings import Settings
from tests.fakes.states import FakeStates


def _down(states: FakeStates, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:8123/")

    monkeypatch.setattr(states, "describe_state_machine", refuse, raising=False)


def test_readyz_names_no_endpoint_and_says_what_the_supervisor_does(
    client: TestClient, settings: Settings, states: FakeStates, monkeypatch: pytest.MonkeyPatch
) -> None:
    _down(states, monkeypatch)
    settings.states_supervision_file.parent.mkdir(parents=True, exist_ok=True)
    settings.states_supervision_file.write_text(
        json.dumps({"supervisor_pid": os.getpid(), "message": "restarting it again in 30 s", "state": "restarting"})
    )
    answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert "127.0.0.1" not in answer.text and "http://" not in answer.text
    assert body["states"]["status"] == "down"
    assert body["states"]["supervisor"] == "restarting it again in 30 s"


def test_a_supervisor_that_is_gone_is_not_quoted(
    client: TestClient, settings: Settings, states: FakeStates, monkeypatch: pytest.MonkeyPatch
) -> None:
    _down(states, monkeypatch)
    settings.states_supervision_file.parent.mkdir(parents=True, exist_ok=True)
    settings.states_supervision_file.write_text(json.dumps({"supervisor_pid": 2**22 + 7, "message": "stale"}))
    body = client.get("/readyz").json()
    assert "supervisor" not in body["states"]


def test_states_unavailable_messages_carry_no_endpoint() -> None:
    error = EndpointConnectionError(endpoint_url="http://10.0.3.7:8123/")
    message = StatesUnavailable(f"the workflow service is down; try again shortly ({error})").message
    assert "10.0.3.7" not in message and "://" not in message
    assert message.startswith("the workflow service is down")
