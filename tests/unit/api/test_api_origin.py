"""In AWS the API answers only requests that came through CloudFront (and its web ACL).

moto cannot emulate CloudFront's origin custom header; the distribution's header is asserted in
iac/modules/frontend/tests, and this checks the Lambda side that refuses everything else.
"""

from __future__ import annotations

import importlib
import json

import pytest

from aiorch.settings import Settings
from lambdas.api.origin import ORIGIN_HEADER, origin_refusal


def event(headers: dict[str, str]) -> dict:
    return {"version": "2.0", "rawPath": "/healthz", "headers": headers}


def test_without_a_configured_secret_every_request_passes() -> None:
    assert origin_refusal(event({}), None) is None


def test_the_cloudfront_header_lets_the_request_through() -> None:
    assert origin_refusal(event({ORIGIN_HEADER: "s3cret"}), "s3cret") is None
    assert origin_refusal(event({"X-Origin-Verify": "s3cret"}), "s3cret") is None  # any header case


def test_a_request_to_the_execute_api_url_is_refused_plainly() -> None:
    for headers in ({}, {ORIGIN_HEADER: "guess"}, {ORIGIN_HEADER: ""}):
        refused = origin_refusal(event(headers), "s3cret")
        assert refused is not None and refused["statusCode"] == 403
        assert refused["headers"]["content-type"] == "application/problem+json"
        assert "CloudFront" in json.loads(refused["body"])["detail"]


def test_an_event_without_headers_is_refused_not_a_crash() -> None:
    refused = origin_refusal({"version": "2.0"}, "s3cret")
    assert refused is not None and refused["statusCode"] == 403


def test_the_lambda_handler_checks_the_origin_first(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    handler_module = importlib.import_module("lambdas.api.handler")
    monkeypatch.setattr(handler_module, "_origin_secret", "s3cret")
    request = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/healthz",
        "rawQueryString": "",
        "headers": {"host": "abc.execute-api.eu-west-1.amazonaws.com"},
        "requestContext": {
            "http": {"method": "GET", "path": "/healthz", "sourceIp": "1.2.3.4", "protocol": "HTTP/1.1"},
            "stage": "$default",
            "requestId": "r1",
        },
        "isBase64Encoded": False,
    }
    assert handler_module.handler(request, None)["statusCode"] == 403
    through_cloudfront = {**request, "headers": {**request["headers"], ORIGIN_HEADER: "s3cret"}}
    assert handler_module.handler(through_cloudfront, None)["statusCode"] == 200
