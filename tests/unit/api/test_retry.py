"""One-click retry: POST /image-ai-analysis/{id}/retry starts a failed or aborted run again with the same
inputs and options, linked both ways; a batch retries only its failed images; `aiorch executions retry`."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from aiorch.contracts import ExecutionStatus, ImageOutcome, Outcome


def start(client, headers, **body: Any) -> str:
    answer = client.post("/image-ai-analysis", json={"operation": "upscale", "options": {}, **body}, headers=headers)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["execution_id"])


def sent_request(states, execution_id: str) -> dict[str, Any]:
    (started,) = [s for s in states.started if s["name"] == execution_id]
    return dict(json.loads(started["input"])["request"])


def test_a_failed_run_is_retried_with_the_same_inputs_and_options_linked_both_ways(
    client, alice, upload, photo_png, service, states
) -> None:
    key = upload(alice, photo_png)
    old = start(client, alice, upload=key, options={"outscale": 2})
    service.index.finalise("alice", old, Outcome(status=ExecutionStatus.FAILED, recorded_by="test", error_type="Boom"))

    answer = client.post(f"/image-ai-analysis/{old}/retry", headers=alice)
    assert answer.status_code == 202, answer.text
    new = answer.json()
    assert new["execution_id"] != old and new["retry_of"] == old and new["status"] == "RUNNING"
    assert answer.headers["Location"].endswith(f"/image-ai-analysis/{new['execution_id']}")
    before, again = sent_request(states, old), sent_request(states, new["execution_id"])
    assert {k: v for k, v in again.items() if k != "execution_id"} == {
        k: v for k, v in before.items() if k != "execution_id"
    }
    shown = client.get(f"/image-ai-analysis/{old}", headers=alice).json()
    assert shown["retried_by"] == [new["execution_id"]]
    assert client.get(f"/image-ai-analysis/{new['execution_id']}", headers=alice).json()["retry_of"] == old


def test_an_aborted_run_is_retried_and_a_running_or_succeeded_one_is_not(
    client, alice, bob, upload, photo_png, service
) -> None:
    key = upload(alice, photo_png)
    running = start(client, alice, upload=key)
    assert client.post(f"/image-ai-analysis/{running}/retry", headers=alice).status_code == 409
    assert client.post(f"/image-ai-analysis/{running}/cancel", headers=alice).status_code == 200
    service.index.finalise("alice", running, Outcome(status=ExecutionStatus.ABORTED, recorded_by="test"))
    assert client.post(f"/image-ai-analysis/{running}/retry", headers=bob).status_code == 404  # not bob's
    assert client.post(f"/image-ai-analysis/{running}/retry", headers=alice).status_code == 202

    done = start(client, alice, upload=key)
    service.index.finalise("alice", done, Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="test"))
    assert client.post(f"/image-ai-analysis/{done}/retry", headers=alice).status_code == 409
    assert client.get(f"/image-ai-analysis/{done}", headers=alice).json()["retried_by"] == []


def test_a_batch_retries_only_its_failed_images(client, alice, upload, photo_png, service, states) -> None:
    uploads = [upload(alice, photo_png) for _ in range(3)]
    old = start(client, alice, uploads=uploads)
    outcomes = [
        ImageOutcome(index=0, input_key=uploads[0], status=ExecutionStatus.SUCCEEDED),
        ImageOutcome(index=1, input_key=uploads[1], status=ExecutionStatus.FAILED, error_type="Boom"),
        ImageOutcome(index=2, input_key=uploads[2], status=ExecutionStatus.SUCCEEDED),
    ]
    service.index.finalise("alice", old, Outcome(status=ExecutionStatus.SUCCEEDED, recorded_by="test", images=outcomes))

    new = client.post(f"/image-ai-analysis/{old}/retry", headers=alice).json()
    assert sent_request(states, new["execution_id"])["input_keys"] == [uploads[1]]
    assert client.get(f"/image-ai-analysis/{old}", headers=alice).json()["retried_by"] == [new["execution_id"]]


def test_the_cli_retries(photo_png, service, monkeypatch) -> None:
    from aiorch_local import cli

    monkeypatch.setattr(cli, "_service", lambda _settings: service)
    own = service.store_upload("local", photo_png).key  # the CLI acts as the local user
    first = service.submit("local", "upscale", own)
    service.index.finalise("local", first.execution_id, Outcome(status=ExecutionStatus.FAILED, recorded_by="test"))
    result = CliRunner().invoke(cli.cli, ["executions", "retry", first.execution_id])
    assert result.exit_code == 0, result.output
    assert f"retry of {first.execution_id}" in result.output
    refused = CliRunner().invoke(cli.cli, ["executions", "retry", "01NOSUCHEXECUTION"])
    assert refused.exit_code == 1 and "no execution" in refused.output


def test_the_cli_prints_and_rotates_the_webhook_secret(settings) -> None:
    from aiorch_local import cli

    first = CliRunner().invoke(cli.cli, ["webhooks", "secret"]).output.strip()
    assert first.startswith("whsec_")
    assert CliRunner().invoke(cli.cli, ["webhooks", "secret"]).output.strip() == first
    rotated = CliRunner().invoke(cli.cli, ["webhooks", "secret", "--rotate"]).output.strip()
    assert rotated.startswith("whsec_") and rotated != first
