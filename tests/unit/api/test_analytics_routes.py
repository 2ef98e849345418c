"""The analysts' named queries through the API: listed, answered over the local records, guarded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from aiorch.analytics import AnalyticsRow, write_row
from aiorch.settings import Settings
from lambdas.api.app import create_app
from lambdas.api.auth import LOCAL_ISSUER, LocalIssuer


def record(storage, execution_id: str, operation: str, status: str) -> None:
    when = datetime.now(UTC) - timedelta(days=1)  # inside the named queries' 30-day window
    write_row(
        storage,
        AnalyticsRow(execution_id=execution_id, operation=operation, status=status, started_at=when, finished_at=when),
    )


def test_named_queries_are_listed(client: TestClient, alice: dict[str, str]) -> None:
    queries = client.get("/analytics/queries", headers=alice).json()["queries"]
    names = {q["name"] for q in queries}
    assert "failure_rate_per_operation" in names
    assert all(q["description"] for q in queries)


def answer_of(client: TestClient, headers: dict[str, str], name: str) -> dict:
    """The two steps: start (202 with the id), then poll the answer's address until it answers."""
    started = client.post(f"/analytics/queries/{name}/runs", headers=headers)
    assert started.status_code == 202
    run = started.json()
    assert run["state"] == "RUNNING" and run["answer_url"] == f"/analytics/queries/{name}/runs/{run['query_id']}"
    answered = client.get(run["answer_url"], headers=headers)
    assert answered.status_code == 200  # DuckDB answers on the first poll
    return answered.json()


def test_a_named_query_is_answered_over_the_local_records(client, alice, service) -> None:
    record(service.storage, "E1", "upscale", "SUCCEEDED")
    record(service.storage, "E2", "upscale", "FAILED")
    record(service.storage, "E3", "denoise", "SUCCEEDED")
    answer = answer_of(client, alice, "failure_rate_per_operation")
    assert answer["name"] == "failure_rate_per_operation" and answer["state"] == "SUCCEEDED"
    assert "operation" in answer["columns"] and "failure_rate" in answer["columns"]
    by_operation = {row["operation"]: row for row in answer["rows"]}
    assert by_operation["upscale"]["executions"] == 2 and by_operation["upscale"]["failed"] == 1
    assert by_operation["upscale"]["failure_rate"] == 0.5
    assert by_operation["denoise"]["failure_rate"] == 0.0


def test_an_unknown_query_is_404_and_a_bad_name_422(client, alice) -> None:
    assert client.post("/analytics/queries/nope/runs", headers=alice).status_code == 404
    assert client.post("/analytics/queries/DROP%20TABLE/runs", headers=alice).status_code == 422
    assert client.get("/analytics/queries/nope/runs/local-1", headers=alice).status_code == 404


def test_an_unknown_run_is_404(client, alice) -> None:
    missing = client.get("/analytics/queries/failure_rate_per_operation/runs/not-a-run", headers=alice)
    assert missing.status_code == 404 and "not-a-run" in missing.json()["detail"]


def test_no_request_waits_for_the_query_the_synchronous_address_is_gone(client, alice) -> None:
    """API Gateway waits 29 s at most; an Athena query may take longer."""
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert "/analytics/queries/{name}" not in paths
    assert set(paths["/analytics/queries/{name}/runs"]) == {"post"}
    assert set(paths["/analytics/queries/{name}/runs/{query_id}"]) == {"get"}


def test_a_running_query_answers_202_with_where_to_poll(client, alice, monkeypatch) -> None:
    from lambdas.api.routes import analytics as route

    monkeypatch.setattr(route, "named_query_answer", lambda name, query_id, settings: None)
    running = client.get("/analytics/queries/failure_rate_per_operation/runs/abc-123", headers=alice)
    assert running.status_code == 202 and running.headers["retry-after"] == "2"
    assert running.json() == {
        "name": "failure_rate_per_operation",
        "query_id": "abc-123",
        "state": "RUNNING",
        "answer_url": "/analytics/queries/failure_rate_per_operation/runs/abc-123",
    }


def test_analytics_need_a_token(client) -> None:
    assert client.get("/analytics/queries").status_code == 401
    assert client.post("/analytics/queries/failure_rate_per_operation/runs").status_code == 401


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


def test_query_runs_are_limited_per_user_with_retry_after(settings, service, alice, bob) -> None:
    limited = settings.model_copy(update={"analytics_runs_per_minute": 2})
    client = TestClient(create_app(limited, service), base_url="http://127.0.0.1:8000")
    for _ in range(2):
        assert client.post("/analytics/queries/top_errors/runs", headers=alice).status_code == 202
    third = client.post("/analytics/queries/top_errors/runs", headers=alice)
    assert third.status_code == 429
    assert 0 < int(third.headers["retry-after"]) <= 60
    assert "2 queries in the last minute" in third.json()["detail"]
    assert client.post("/analytics/queries/top_errors/runs", headers=bob).status_code == 202  # per user


def test_the_window_slides() -> None:
    from aiorch.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(2, 60.0, clock=lambda: now[0])
    assert limiter.acquire("a") == 0 and limiter.acquire("a") == 0
    assert limiter.acquire("a") == 60.0
    now[0] = 30.0
    assert limiter.acquire("a") == 30.0
    now[0] = 60.0
    assert limiter.acquire("a") == 0
    assert RateLimiter(0, 60.0).acquire("a") == 0  # 0: unlimited
