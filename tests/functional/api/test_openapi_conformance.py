"""The OpenAPI document describes every response the live local server gives.

schemathesis (its own command line, as an operator runs it) fuzzes every operation of the served
document against the real server with a token fetched as the SPA fetches it, with all its checks:
status codes, content types, headers and bodies as documented, schema-valid requests accepted,
invalid ones refused, 405 with a matching Allow for undocumented methods, auth really enforced, no
500. A second run over a deliberately wrong copy of the document shows that the harness does catch
a misdescribed response.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import encode, photo
from tests.functional.api.conftest import Connection, LiveServer

pytestmark = [pytest.mark.functional, pytest.mark.slow]

# A submit's webhook URL is refused (422) when its address cannot be used (private, link-local, not
# https): a rule on the address, which no JSON schema states, so a schema-valid submit may meet it.
# Only that status is added, and only for that operation: any other refusal of valid data still fails.
WEBHOOK_ADDRESS_RULE = """
[[operations]]
include-path = "/image-ai-analysis"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
"""
EXAMPLES_PER_OPERATION = 10  # each phase's generated cases per operation; the coverage phase adds its own


def schemathesis(location: str, live: LiveServer, token: str, work: Path, *options: str, timeout_s: float = 240) -> Any:
    """The schemathesis command line; it runs in ``work``, where it keeps its replay cache."""
    config = work / "schemathesis.toml"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        *(["--config-file", str(config)] if config.exists() else []),
        "run",
        location,
        "--url",
        live.url,
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        # One worker: hypothesis describes strategies with ast.parse, which CPython 3.11 before 3.11.8
        # cannot run in two threads at once (gh-106905, "AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        *options,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=work)


def test_every_response_of_every_operation_is_as_documented(live_server: LiveServer, tmp_path: Path) -> None:
    status, _, body = live_server.request("GET", "/openapi.json")
    assert status == 200
    operations = sum(len(item) for item in json.loads(body)["paths"].values())

    # A real execution, so the operations on one execution answer with it, not only with 404.
    connection = Connection(live_server.url, live_server.token())
    request = {"operation": "denoise", "upload": connection.upload(encode(photo(48))), "options": {"method": "tv"}}
    code, submitted = connection.send(
        "POST", "/image-ai-analysis", json.dumps(request).encode(), **{"Content-Type": "application/json"}
    )
    assert code == 202, submitted
    config = f'[parameters]\nexecution_id = "{submitted["execution_id"]}"\n' + WEBHOOK_ADDRESS_RULE
    (tmp_path / "schemathesis.toml").write_text(config)

    run = schemathesis(
        f"{live_server.url}/openapi.json",
        live_server,
        live_server.token(),
        tmp_path,
        "--checks",
        "all",
    )
    output = run.stdout + run.stderr
    summary = output[output.rfind("SUMMARY") :]
    print(summary)
    # The failures' own section (each case, its status, its curl), not the tail of one long curl.
    failures = output.find("FAILURES")
    assert run.returncode == 0, output[failures : failures + 12000] if failures >= 0 else output[-12000:]
    # It really ran: every operation of the document, with hundreds of cases among them.
    assert re.search(rf"Selected: {operations}/{operations}\s+Tested: {operations}\b", summary), summary
    generated = int(re.search(r"(\d+) generated", summary).group(1))  # type: ignore[union-attr]
    assert generated >= EXAMPLES_PER_OPERATION * operations, summary
    assert "Failures:" not in summary, summary


def test_the_harness_catches_a_misdescribed_response(live_server: LiveServer, tmp_path: Path) -> None:
    """The same run over a copy of the document that calls the errors of POST /uploads plain JSON."""
    _, _, body = live_server.request("GET", "/openapi.json")
    document = json.loads(body)
    for response in document["paths"]["/uploads"]["post"]["responses"].values():
        if "application/problem+json" in response.get("content", {}):
            response["content"] = {"application/json": response["content"].pop("application/problem+json")}
    wrong = tmp_path / "wrong-openapi.json"
    wrong.write_text(json.dumps(document))

    run = schemathesis(
        str(wrong),
        live_server,
        live_server.token(),
        tmp_path,
        "--checks",
        "content_type_conformance",
        "--include-path",
        "/uploads",
        "--phases",
        "coverage,fuzzing",
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-6000:]
    assert "Undocumented Content-Type" in output and "application/problem+json" in output, output[-6000:]
