"""The served document is one that standard generators type: every operation has a clean, unique
operationId and tags, and the submit body is one named schema per operation under a discriminator on
``operation``. Only the document changed: the answers to bodies that break it are as before."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from aiorch.contracts import Operation
from lambdas.api.openapi_doc import variant_name
from lambdas.api.schemas import options_json_schema


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in document["paths"].values() for op in item.values()]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_every_operation_has_a_clean_unique_operation_id_and_tags(document: dict[str, Any]) -> None:
    ids = [op.get("operationId", "") for op in operations(document)]
    assert all(re.fullmatch(r"[a-z][A-Za-z]*", i) for i in ids), ids
    assert len(ids) == len(set(ids))
    assert all(op.get("tags") for op in operations(document))
    by_route = {(m.upper(), p): op["operationId"] for p, item in document["paths"].items() for m, op in item.items()}
    assert by_route["POST", "/image-ai-analysis"] == "submitAnalysis"
    assert by_route["GET", "/image-ai-analysis/{execution_id}"] == "getExecution"
    assert by_route["POST", "/image-ai-analysis/{execution_id}/cancel"] == "cancelExecution"


def test_the_submit_body_is_one_named_schema_per_operation_under_a_discriminator(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    body = document["paths"]["/image-ai-analysis"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AnalysisIn"}
    submit = schemas["AnalysisIn"]
    mapping = {op.value: f"#/components/schemas/{variant_name(op)}" for op in Operation}
    assert submit["discriminator"] == {"propertyName": "operation", "mapping": mapping}
    assert submit["oneOf"] == [{"$ref": ref} for ref in mapping.values()]
    for operation in Operation:
        variant = schemas[variant_name(operation)]
        assert variant["title"] == variant_name(operation)
        assert variant["properties"]["operation"]["const"] == operation.value
        assert "operation" in variant["required"]
        assert variant["properties"]["options"] == options_json_schema(operation)  # aiorch's option schema
    assert variant_name(Operation.detect_text) == "DetectTextIn"


def test_each_submit_variant_is_one_object_that_generators_type(document: dict[str, Any]) -> None:
    """No oneOf/anyOf beside a variant's properties (openapi-python-client reads such an object as an
    untyped union of its branches); its one-image-or-batch rule is said with ``not`` and still holds."""
    schemas = document["components"]["schemas"]
    for operation in Operation:
        variant = schemas[variant_name(operation)]
        assert variant["type"] == "object"
        assert not {"oneOf", "anyOf", "allOf"} & set(variant), variant_name(operation)
        rule = Draft202012Validator(variant)
        one = {"operation": operation.value, "upload": "uploads/alice/x/original.png"}
        batch = {"operation": operation.value, "uploads": ["uploads/alice/x/original.png"]}
        assert rule.is_valid(one) and rule.is_valid(batch)
        assert not rule.is_valid({"operation": operation.value})  # neither
        assert not rule.is_valid({**one, **batch})  # both
        if "mask" in variant["properties"]:
            assert rule.is_valid({**one, "mask": "uploads/alice/m/original.png"})
            assert not rule.is_valid({**batch, "mask": "uploads/alice/m/original.png"})  # a batch takes no mask


def test_tags_group_operations_by_concern(document: dict[str, Any]) -> None:
    """A generator puts each operation in a module named after its first tag (api/analyses/...)."""
    first_tag = {op["operationId"]: op["tags"][0] for op in operations(document)}
    assert first_tag["submitAnalysis"] == first_tag["getExecution"] == first_tag["cancelExecution"] == "analyses"
    assert first_tag["createUpload"] == "uploads"
    assert first_tag["listOperations"] == "operations"
    assert first_tag["authorize"] == "auth"
    assert first_tag["getHealth"] == "health"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"operation": "sharpen", "upload": "uploads/alice/x/original.png"}, 422, "operation"),
        ({"operation": "upscale"}, 422, None),
        ({"operation": "upscale", "upload": "uploads/alice/x/original.png", "extra": 1}, 422, "extra"),
    ],
)
def test_bodies_outside_the_schemas_answer_as_before(
    client: TestClient, alice: dict[str, str], body: dict[str, Any], status: int, field: str | None
) -> None:
    answer = client.post("/image-ai-analysis", json=body, headers=alice)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    if field:
        assert field in [e["field"] for e in answer.json()["errors"]]
