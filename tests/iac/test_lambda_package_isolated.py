"""The built Lambda package runs on its own.

The zip is the real build (third-party code installed by pip for the Lambda platform),
unpacked, and imported by ``python -I -S`` with nothing but the unpacked package on
``sys.path`` (see lambda_package.py). On the old layout the API's analysis service imported
``workflows.local.client``, which the zip leaves out: every POST answered 503
(StartExecutionFailed) and cancel and /events 500. Here the API handler, from the package,
starts, stops and reads an execution on a Step Functions endpoint (a moto server in this
process, standing in for AWS) through API Gateway HTTP API events.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from aiorch.ids import new_id
from aiorch.keys import upload_key
from aiorch.settings import Settings
from aiorch.storage import LocalStorage
from tests.conftest import encode, photo
from tests.iac.lambda_package import LambdaWorker, build_unpacked, http_api_event

pytestmark = [pytest.mark.functional, pytest.mark.slow, pytest.mark.timeout(600)]

HANDLERS = [f"lambdas.{name}.handler" for name in ("validate_input", "record_result", "record_failure",
                                                     "status_change", "api")]  # fmt: skip
MUST_NOT_IMPORT = ["workflows.local", "moto", "torch", "aiorch_local", "jobs"]
REGION = "us-east-1"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lambda-package")
    return build_unpacked(root / "lambda.zip", root / "unpacked")


@pytest.fixture(scope="module")
def states_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _decode(response: dict[str, Any]) -> Any:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body) if body else None


def test_every_handler_imports_and_the_local_side_does_not(package: Path, tmp_path: Path) -> None:
    worker = LambdaWorker(
        package, {"AIORCH_DATA_DIR": str(tmp_path / "data"), "AIORCH_STORAGE_URL": str(tmp_path / "s")}
    )
    try:
        probed = worker.probe_imports([*HANDLERS, "aiorch.states.client", *MUST_NOT_IMPORT])
    finally:
        worker.close()
    imports = probed["imports"]
    assert {h: imports[h] for h in [*HANDLERS, "aiorch.states.client"]} == dict.fromkeys(
        [*HANDLERS, "aiorch.states.client"], "imported"
    )
    for module in MUST_NOT_IMPORT:
        assert imports[module].startswith("ModuleNotFoundError"), (module, imports[module])
    # Nothing of this machine's Python environment is reachable: stdlib and the package only.
    assert not [p for p in probed["sys_path"] if "site-packages" in p or p.startswith(str(Path.cwd()))]


def test_api_handler_from_the_package_starts_stops_and_reads_an_execution(
    package: Path, states_endpoint: str, tmp_path: Path
) -> None:
    states = boto3.client(
        "stepfunctions", endpoint_url=states_endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    machine = states.create_state_machine(
        name=f"iso-{new_id().lower()}",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/states",
    )["stateMachineArn"]
    env = {
        "AIORCH_DATA_DIR": str(tmp_path / "data"),
        "AIORCH_STORAGE_URL": str(tmp_path / "storage"),
        "AIORCH_STATE_MACHINE_ARN": machine,
        "AIORCH_STATES_ENDPOINT_URL": states_endpoint,
        "AIORCH_AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    # The token and the upload are made here, against the same data dir and storage.
    from lambdas.api.auth import LocalIssuer

    settings = Settings(data_dir=tmp_path / "data", storage_url=str(tmp_path / "storage"))
    token = LocalIssuer(settings).issue("alice")
    upload = upload_key("alice", new_id(), "png")
    LocalStorage(str(tmp_path / "storage")).put_bytes(upload, encode(photo(16)), content_type="image/png")
    auth = {"authorization": f"Bearer {token}"}

    api = LambdaWorker(package, env, name="api")
    try:
        submitted = api.invoke(
            "lambdas.api.handler.handler",
            http_api_event("POST", "/image-ai-analysis", body={"operation": "denoise", "upload": upload},
                           headers=auth),
        )  # fmt: skip
        assert submitted["statusCode"] == 202, submitted
        execution_id = _decode(submitted)["execution_id"]
        arn = f"{machine.replace(':stateMachine:', ':execution:')}:{execution_id}"
        assert states.describe_execution(executionArn=arn)["status"] == "RUNNING"

        events = api.invoke(
            "lambdas.api.handler.handler",
            http_api_event("GET", f"/image-ai-analysis/{execution_id}/events", headers=auth),
        )
        assert events["statusCode"] == 200, events
        assert "ExecutionStarted" in json.dumps(_decode(events))

        cancelled = api.invoke(
            "lambdas.api.handler.handler",
            http_api_event("POST", f"/image-ai-analysis/{execution_id}/cancel", headers=auth),
        )
        assert cancelled["statusCode"] == 200, cancelled
        assert states.describe_execution(executionArn=arn)["status"] == "ABORTED"
    finally:
        api.close()


def test_the_package_holds_exactly_the_library_versions_the_suite_runs(package: Path) -> None:
    """Deployed = tested: every distribution in the zip is locked in locks/lambda.txt at the version
    this suite's interpreter has installed (the .venv from locks/dev.txt), and nothing locked is missing."""
    from importlib import metadata

    from tests.lockfiles import lock, locked

    in_package = {}
    for info in package.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        in_package[lock.normalise(name)] = version
    suite = {lock.normalise(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}
    assert in_package == locked("lambda")
    differing = {name: (version, suite.get(name)) for name, version in in_package.items() if suite.get(name) != version}
    assert not differing, f"package vs suite versions: {differing}"
