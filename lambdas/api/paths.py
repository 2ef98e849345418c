"""The API's own paths, read from its OpenAPI document: the methods served at a path (a 405's Allow)
and whether a path belongs to the API, so the front end's index.html never answers for one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DocumentedPath:
    pattern: re.Pattern[str]  # the template with each {parameter} as one path segment
    prefix: str  # the fixed part before the first parameter: "/image-ai-analysis/" for "/image-ai-analysis/{id}"
    methods: frozenset[str]


def documented_paths(app: Any) -> list[DocumentedPath]:
    paths: list[DocumentedPath] | None = getattr(app.state, "documented_paths", None)
    if paths is None:
        paths = [
            DocumentedPath(
                re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))),
                template.split("{", 1)[0] if "{" in template else template.rstrip("/") + "/",
                frozenset(method.upper() for method in item),
            )
            for template, item in app.openapi().get("paths", {}).items()
        ]
        app.state.documented_paths = paths
    return paths


def methods_at(app: Any, path: str) -> list[str]:
    """The methods the API's document names for ``path`` (empty when it is no API path)."""
    methods: set[str] = set()
    for documented in documented_paths(app):
        if documented.pattern.fullmatch(path):
            methods |= documented.methods
    return sorted(methods)


def is_api_path(app: Any, path: str) -> bool:
    """An API path, or one under an API path's fixed prefix (``/image-ai-analysis/x/y``)."""
    return any(
        d.pattern.fullmatch(path) or (path.startswith(d.prefix) and d.prefix.count("/") > 1)
        for d in documented_paths(app)
    )
