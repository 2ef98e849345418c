"""A Python client generated from the served document by openapi-python-client (as anyone outside the
project would make one) is typed and works: its calls are named after the operationIds, the submit body
is one model per operation, and one execution runs through it, upload to result, against the live
local server."""

from __future__ import annotations

import importlib
import inspect
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, get_type_hints
from urllib.parse import urlsplit

import pytest

from aiorch.contracts import Operation
from lambdas.api.openapi_doc import variant_name
from tests.conftest import encode, photo
from tests.functional.api.conftest import LiveServer
from tests.support import wait_for

pytestmark = [pytest.mark.functional, pytest.mark.slow]

PACKAGE = "aiorch_generated_client"  # a name no installed package has


def snake(name: str) -> str:
    """openapi-python-client's module name for a schema: UpscaleIn -> upscale_in."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


@pytest.fixture(scope="module")
def client_package(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    work = tmp_path_factory.mktemp("generated-client")
    status, _, document = live_server.request("GET", "/openapi.json")
    assert status == 200
    (work / "openapi.json").write_bytes(document)
    venv_bin = Path(sys.executable).parent
    generated = subprocess.run(
        [
            str(venv_bin / "openapi-python-client"),
            "generate",
            "--path",
            str(work / "openapi.json"),
            "--output-path",
            str(work / PACKAGE),
            "--meta",
            "none",
        ],
        # Its post-hooks run ruff, which is in the venv.
        env={**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=work,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    # A schema or operation it cannot read is a warning, and the piece is left out or typed Any.
    assert "Warning" not in output, output
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def generated(package: ModuleType, module: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{module}")


def test_calls_are_named_after_the_operation_ids_and_the_submit_body_is_typed(client_package: ModuleType) -> None:
    submit = generated(client_package, "api.analyses.submit_analysis")
    generated(client_package, "api.analyses.get_execution")
    generated(client_package, "api.analyses.cancel_execution")
    generated(client_package, "api.operations.list_operations")
    body = get_type_hints(submit.sync_detailed)["body"]
    assert body is not Any
    variants = {variant_name(operation) for operation in Operation}
    assert {getattr(t, "__name__", "") for t in body.__args__} == variants
    for variant in variants:  # each a model of its own (models/upscale_in.py: UpscaleIn)
        model = getattr(generated(client_package, f"models.{snake(variant)}"), variant)
        assert {"operation", "upload", "uploads", "options"} <= set(inspect.signature(model).parameters)
    # Each operation's options are a model of their own, with that operation's option names.
    upscale_options = generated(client_package, "models.upscale_in_options").UpscaleInOptions
    assert {"model", "outscale", "tile"} <= set(inspect.signature(upscale_options).parameters)


def test_one_execution_runs_through_the_generated_client(client_package: ModuleType, live_server: LiveServer) -> None:
    models = generated(client_package, "models")
    types = generated(client_package, "types")
    client = client_package.AuthenticatedClient(base_url=live_server.url, token=live_server.token(), timeout=30.0)

    target = generated(client_package, "api.uploads.create_upload").sync(
        client=client, body=models.UploadRequest(content_type=models.UploadRequestContentType("image/png"))
    )
    assert isinstance(target, models.UploadTargetOut), target
    token = urlsplit(target.url).path.rsplit("/", 1)[1]
    stored = generated(client_package, "api.uploads.upload_locally").sync(
        token,
        client=client,
        body=models.BodyUploadLocally(
            file=types.File(payload=io.BytesIO(encode(photo(48))), file_name="p.png", mime_type="image/png"),
            content_type=models.BodyUploadLocallyContentType("image/png"),
        ),
    )
    assert isinstance(stored, models.UploadOut), stored

    options = models.DenoiseInOptions(method=models.DenoiseInOptionsMethodType0("tv"))
    submitted = generated(client_package, "api.analyses.submit_analysis").sync_detailed(
        client=client, body=models.DenoiseIn(operation="denoise", upload=stored.upload, options=options)
    )
    assert submitted.status_code == 202, submitted.content
    assert isinstance(submitted.parsed, models.SubmittedOut)
    execution_id = submitted.parsed.execution_id

    get_execution = generated(client_package, "api.analyses.get_execution")

    def ended() -> Any:
        execution = get_execution.sync(execution_id, client=client)
        assert isinstance(execution, models.ExecutionOut), execution
        return execution if execution.status != models.ExecutionStatus.RUNNING else None

    execution = wait_for(ended, 180, f"execution {execution_id} to end", poll_s=0.5)
    assert execution.status == models.ExecutionStatus.SUCCEEDED, execution.error
    assert execution.operation == "denoise"
    assert execution.results and execution.results[0].url
    status, _, image = live_server.request("GET", urlsplit(execution.results[0].url).path)
    assert status == 200 and image.startswith(b"\x89PNG")
