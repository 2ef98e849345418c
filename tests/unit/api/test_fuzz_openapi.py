"""Fuzzing over the OpenAPI schema (schemathesis): valid and invalid requests to every operation, signed in,
never get a 500, and every error is a problem document."""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, strategies
from schemathesis import GenerationMode

from aiorch.analysis import AnalysisService
from aiorch.settings import Settings
from lambdas.api.app import create_app
from lambdas.api.auth import LocalIssuer
from tests.unit.api.conftest import FakeStates

CASES_PER_OPERATION = 200

# Every operation in the schema; test_every_operation_is_fuzzed keeps this list honest.
OPERATIONS = [
    ("/healthz", "GET"),
    ("/readyz", "GET"),
    ("/.well-known/jwks.json", "GET"),
    ("/operations", "GET"),
    ("/authorize", "GET"),
    ("/authorize", "DELETE"),
    ("/local-uploads/{token}", "POST"),
    ("/downloads/{token}", "GET"),
    ("/uploads", "POST"),
    ("/image-ai-analysis", "POST"),
    ("/image-ai-analysis", "GET"),
    ("/image-ai-analysis/{execution_id}", "GET"),
    ("/image-ai-analysis/{execution_id}", "DELETE"),
    ("/image-ai-analysis/{execution_id}/cancel", "POST"),
    ("/image-ai-analysis/{execution_id}/retry", "POST"),
    ("/image-ai-analysis/{execution_id}/events", "GET"),
    ("/image-ai-analysis/{execution_id}/webhook-deliveries", "GET"),
    ("/webhooks/secret", "GET"),
    ("/webhooks/secret/rotate", "POST"),
    ("/analytics/queries", "GET"),
    ("/analytics/queries/{name}/runs", "POST"),
    ("/analytics/queries/{name}/runs/{query_id}", "GET"),
]
# Operations whose only input is nothing at all: hypothesis cannot make 200 different requests of them.
WITHOUT_INPUTS = {
    ("/healthz", "GET"),
    ("/readyz", "GET"),
    ("/.well-known/jwks.json", "GET"),
    ("/operations", "GET"),
    ("/analytics/queries", "GET"),
    ("/authorize", "DELETE"),
    ("/webhooks/secret", "GET"),
    ("/webhooks/secret/rotate", "POST"),
}


@pytest.fixture
def schema(settings: Settings, photo_png: bytes) -> Any:
    service = AnalysisService(settings, states_client=FakeStates())
    service.store_upload("fuzzer", photo_png)  # something real to find among the generated keys
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(settings, service))


def test_every_operation_is_fuzzed(schema: Any) -> None:
    in_schema = {(path, method.upper()) for path, item in schema.raw_schema["paths"].items() for method in item}
    assert in_schema == set(OPERATIONS)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_no_500_and_every_error_is_a_problem(schema: Any, settings: Settings, path: str, method: str) -> None:
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {LocalIssuer(settings).issue('fuzzer')}"}
    seen: list[int] = []

    @hypothesis.settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(
        case=strategies.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )
    )
    def run(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        seen.append(response.status_code)
        assert response.status_code < 500, f"{case.as_curl_command()} -> {response.text}"
        if response.status_code >= 400:
            content_type = response.headers.get("content-type")  # schemathesis keeps header values as lists
            assert content_type in ("application/problem+json", ["application/problem+json"]), response.text
            assert response.json()["detail"]

    run()
    if (path, method) not in WITHOUT_INPUTS:
        assert len(seen) >= CASES_PER_OPERATION
    print(f"{method} {path}: {len(seen)} cases, statuses {sorted(set(seen))}")
