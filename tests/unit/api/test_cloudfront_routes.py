"""CloudFront sends exactly the API's paths to API Gateway (one origin).

The path patterns live in iac/modules/frontend/variables.tf (asserted there by terraform test);
this holds them against the app's real routes, so a new API route that CloudFront would send to
the bucket (and answer with the SPA's page) fails here, and so does a pattern that would take one
of the SPA's own pages away from it. CloudFront's pattern rules: "*" matches any characters,
including "/" ("Path pattern", Cache behavior settings,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html#DownloadDistValuesPathPattern).
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from fastapi import FastAPI

from aiorch.settings import Settings
from lambdas.api.app import SPA_ROUTES, create_app

VARIABLES = Path(__file__).resolve().parents[3] / "iac" / "modules" / "frontend" / "variables.tf"
# Served by the bucket in AWS (uploaded beside the built app), by the API locally.
BUCKET_FILES = {"/config.json"}


def cloudfront_patterns() -> list[str]:
    block = VARIABLES.read_text(encoding="utf-8").split('variable "api_path_patterns"', 1)[1]
    default = block.split("default = [", 1)[1].split("]", 1)[0]
    return re.findall(r'"([^"]+)"', default)


def routed_to_api(path: str, patterns: list[str]) -> bool:
    # CloudFront's "*" also crosses "/", like fnmatch's; there are no other wildcards in the list.
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def api_paths(app: FastAPI) -> set[str]:
    # The API's own document: FastAPI 0.165 keeps included routers as _IncludedRouter entries in
    # app.routes (no path, no methods), so reading app.routes found no API route at all and this
    # check passed while CloudFront sent /readyz to the bucket.
    return {concrete(path) for path in app.openapi()["paths"]}


def test_every_api_route_goes_to_the_api(settings: Settings) -> None:
    patterns = cloudfront_patterns()
    missing = sorted(p for p in api_paths(create_app(settings)) - BUCKET_FILES if not routed_to_api(p, patterns))
    assert not missing, f"CloudFront would serve these API paths from the bucket: {missing}"


def test_the_spas_own_pages_stay_with_the_app() -> None:
    patterns = cloudfront_patterns()
    pages = ["/", "/index.html", "/assets/index.js", *(f"/{route}" for route in SPA_ROUTES)]
    pages += [f"/{route}/01JEXAMPLE" for route in SPA_ROUTES]
    taken = [page for page in pages if routed_to_api(page, patterns)]
    assert not taken, f"CloudFront would send these pages of the app to the API: {taken}"
    assert not routed_to_api("/config.json", patterns)


def test_the_apps_routes_are_read(settings: Settings) -> None:
    paths = api_paths(create_app(settings))
    assert {"/healthz", "/readyz", "/operations", "/image-ai-analysis/x1"} <= paths


def test_the_parser_reads_the_list() -> None:
    patterns = cloudfront_patterns()
    assert "/authorize" in patterns and "/image-ai-analysis*" in patterns
