"""The analysts' named queries through the API: listed, answered over the local records, guarded."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from aiorch.analytics import AnalyticsRow, write_row
from aiorch.settings import Settings
from lambdas.api.app import create_app
from lambdas.api.auth import LOCAL_ISSUER, LocalIssuer


def record(storage, execution_id: str, operation: str, status: str) -> None:
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    write_row(
        storage,
        AnalyticsRow(execution_id=execution_id, operation=operation, status=status, started_at=when, finished_at=when),
    )


def test_named_queries_are_listed(client: TestClient, alice: dict[str, str]) -> None:
    queries = client.get("/analytics/queries", headers=alice).json()["queries"]
    names = {q["name"] for q in queries}
    assert "failure_rate_per_operation" in names
    assert all(q["description"] for q in queries)


def test_a_named_query_is_answered_over_the_local_records(client, alice, service) -> None:
    record(service.storage, "E1", "upscale", "SUCCEEDED")
    record(service.storage, "E2", "upscale", "FAILED")
    record(service.storage, "E3", "denoise", "SUCCEEDED")
    answer = client.get("/analytics/queries/failure_rate_per_operation", headers=alice).json()
    assert answer["name"] == "failure_rate_per_operation"
    assert "operation" in answer["columns"] and "failure_rate" in answer["columns"]
    by_operation = {row["operation"]: row for row in answer["rows"]}
    assert by_operation["upscale"]["executions"] == 2 and by_operation["upscale"]["failed"] == 1
    assert by_operation["upscale"]["failure_rate"] == 0.5
    assert by_operation["denoise"]["failure_rate"] == 0.0


def test_an_unknown_query_is_404_and_a_bad_name_422(client, alice) -> None:
    assert client.get("/analytics/queries/nope", headers=alice).status_code == 404
    assert client.get("/analytics/queries/DROP%20TABLE", headers=alice).status_code == 422


def test_analytics_need_a_token(client) -> None:
    assert client.get("/analytics/queries").status_code == 401


def test_with_an_analysts_group_only_its_members_read_analytics(settings: Settings, service) -> None:
    guarded = settings.model_copy(update={"auth_analysts_group": "analysts"})
    client = TestClient(create_app(guarded, service))
    issuer = LocalIssuer(guarded)

    def token(groups: list[str]) -> dict[str, str]:
        import time

        import jwt

        now = int(time.time())
        claims = {
            "iss": LOCAL_ISSUER,
            "sub": "erin",
            "token_use": "access",
            "client_id": guarded.auth_client_id,
            "iat": now,
            "exp": now + 60,
            "cognito:groups": groups,
        }
        signed = jwt.encode(claims, issuer.private_key, algorithm="RS256", headers={"kid": issuer.jwk()["kid"]})
        return {"Authorization": f"Bearer {signed}"}

    refused = client.get("/analytics/queries", headers=token(["viewers"]))
    assert refused.status_code == 403 and "'analysts' group" in refused.json()["detail"]
    assert client.get("/analytics/queries", headers=token(["analysts"])).status_code == 200
    assert client.get("/image-ai-analysis", headers=token([])).status_code == 200
