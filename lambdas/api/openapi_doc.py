"""What makes the served OpenAPI document one that standard generators type well (openapi-typescript for
the web app, openapi-python-client and the like for anyone else):

- every operation has a short, stable ``operationId`` (``submitAnalysis``, ``getExecution``...) instead of
  FastAPI's function-and-path default, so generated method names read well and do not change when a path does;
- the submit body is one named schema per operation (``UpscaleIn``, ``InpaintIn``...) under a
  ``discriminator`` on ``operation``, so a generated client has one type per operation with its own options.

Only the document changes: requests are still validated by ``schemas.AnalysisIn`` (and ``check_options``), so
every answer, error answers included, stays as it was.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from aiorch.contracts import Operation

# By route function name; a route not named here gets its name in camelCase (and a test holds them unique).
OPERATION_IDS = {
    "healthz": "getHealth",
    "readyz": "getReadiness",
    "jwks": "getJwks",
    "authorize": "authorize",
    "sign_out": "signOut",
    "local_upload": "uploadLocally",
    "download": "download",
    "create_upload": "createUpload",
    "submit": "submitAnalysis",
    "list_executions": "listExecutions",
    "get_execution": "getExecution",
    "delete_execution": "deleteExecution",
    "cancel_execution": "cancelExecution",
    "execution_events": "listExecutionEvents",
    "list_operations": "listOperations",
    "analytics_queries": "listAnalyticsQueries",
    "start_query": "startAnalyticsQuery",
    "query_answer": "getAnalyticsQueryAnswer",
}
SUBMIT_SCHEMA = "AnalysisIn"


def operation_id(route: APIRoute) -> str:
    """FastAPI's ``generate_unique_id_function``: the route's operationId."""
    return OPERATION_IDS.get(route.name) or re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), route.name)


def variant_name(operation: Operation) -> str:
    """The submit body's schema for one operation: UpscaleIn, DenoiseIn, InpaintIn, DetectTextIn."""
    return "".join(part.capitalize() for part in operation.value.split("_")) + "In"


def name_submit_variants(document: dict[str, Any]) -> dict[str, Any]:
    """Move each operation's variant of the submit body (``schemas.AnalysisIn``'s oneOf) into a schema of
    its own and put them under a discriminator on ``operation``."""
    components = document.get("components", {}).get("schemas", {})
    submit = components.get(SUBMIT_SCHEMA)
    if not submit or "discriminator" in submit:
        return document
    mapping = {}
    for variant in submit["oneOf"]:
        operation = Operation(variant["properties"]["operation"]["const"])
        name = variant_name(operation)
        components[name] = {**variant, "title": name}
        mapping[operation.value] = f"#/components/schemas/{name}"
    submit["oneOf"] = [{"$ref": ref} for ref in mapping.values()]
    submit["discriminator"] = {"propertyName": "operation", "mapping": mapping}
    return document


def install(app: FastAPI) -> None:
    """``app.openapi()`` answers the document with the submit body's variants named."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return name_submit_variants(generate())  # idempotent: the document is generated once and kept

    app.openapi = openapi  # type: ignore[method-assign]
