"""iac/envs/dev applies to the local states service, runs one image through the state machine
Terraform deployed, and is destroyed again.

The local states service is a moto server with ASL execution and the dispatch hooks, so
the Lambda and Batch tasks of the deployed definition run the project's own handlers and
job CLI on this machine, found by the function, queue and job-definition names Terraform
gave them.

Storage is the bucket Terraform created in moto (so the handlers and the job read and write
S3 as deployed); Terraform and the set-up sign as an admin IAM user made before the apply
(the first step towards IAM enforcement, which is not switched on here yet: see the
report of issue 9: under enforcement moto answered sts:AssumeRole with 500 and the destroy's
apigatewayv2/CloudFront reads with 403).

What this cannot show (moto holds these resources but does nothing with them): CloudFront
serving, WAF filtering, Cognito sign-in, API Gateway routing and JWT checks, Batch compute
scaling, alarms, EventBridge delivery (the service's watchdog plays the status-change
rule), and Lambda running the uploaded zip (moto stores it; the hooks call the handlers
in-process). CloudFront also shows drift on a second plan under moto, so "no drift" is not
checked. See docs/deploy.md, "What the local apply proves".
"""

from __future__ import annotations

import importlib.util
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aiorch.ids import new_id
from aiorch.keys import upload_key
from aiorch.settings import Settings
from aiorch.storage import LocalStorage, S3Storage
from tests.conftest import encode, photo
from tests.iac.terraform import DEV_ENV, REPO, Terraform, terraform_missing_reason

TERRAFORM_MISSING = terraform_missing_reason()
pytestmark = [
    pytest.mark.functional,
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(TERRAFORM_MISSING is not None, reason=f"cannot run Terraform: {TERRAFORM_MISSING}"),
]

NAME = "aiorch-it"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"

# The names iac/envs/dev gives its resources for NAME. The service must know them before
# Terraform runs (moto keeps state in memory, so it cannot restart after the apply);
# the test checks Terraform's outputs against them.
FUNCTIONS = {
    "validate_input": f"{NAME}-validate-input",
    "record_result": f"{NAME}-record-result",
    "record_failure": f"{NAME}-record-failure",
    "status_change": f"{NAME}-status-change",
    "api": f"{NAME}-api",
}
BUCKET = f"{NAME}-{ACCOUNT}-data"
JOB_QUEUE = f"{NAME}-gpu"
JOB_DEFINITION = f"{NAME}-model-job"
HANDLERS = {key: f"lambdas.{key}.handler.handler" for key in FUNCTIONS}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def lambda_handler_target(handler: str) -> str:
    """Lambda's ``pkg.module.function`` as the dispatch file's ``pkg.module:function``."""
    module, _, function = handler.rpartition(".")
    return f"{module}:{function}"


def build_code_only_zip(path: Path) -> None:
    # moto stores the package and never runs it (the hooks call the handlers in-process),
    # so the code-only build is enough here; the full build is the same script with deps.
    spec = importlib.util.spec_from_file_location("build_lambda_zip", REPO / "iac/scripts/build_lambda_zip.py")
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    builder.build(path, with_dependencies=False)


@pytest.fixture
def states_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    from workflows.local.client import ensure_service, stop_service

    dispatch_file = tmp_path / "dispatch.json"
    dispatch_file.write_text(
        json.dumps(
            {
                "functions": {
                    FUNCTIONS[key]: lambda_handler_target(HANDLERS[key])
                    for key in ("validate_input", "record_result", "record_failure")
                },
                "job_queues": [JOB_QUEUE],
                "job_definitions": [JOB_DEFINITION],
                "status_change_handler": lambda_handler_target(HANDLERS["status_change"]),
                # moto 5.2.5 answers three APIs the AWS provider calls with 500 (see moto_gaps.py).
                "extra_hooks": ["tests.iac.moto_gaps"],
            }
        )
    )
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        # The bucket Terraform creates (moto holds it once the apply ran), so S3 permissions can fail.
        storage_url=f"s3://{BUCKET}",
        s3_endpoint_url=f"http://127.0.0.1:{port}",
        states_port=port,
        states_dispatch_file=dispatch_file,
        job_slots=1,
        aws_region=REGION,
    )
    # AWS managed policies (AWSBatchServiceRole, ...) exist in moto only when it loads them.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # so the service can import tests.iac.moto_gaps
    # The service's in-process handlers sign with these; moto takes any keys until IAM is enforced.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # The service opens its index before its moto server answers, and a first opening walks the
    # storage for old JSON records: the bucket lives in that very moto server, so the walk is
    # done here first, over an empty folder (the flag it sets makes the service skip it).
    from aiorch.index.sqlite import SqliteIndex

    settings.data_dir.mkdir(parents=True)
    SqliteIndex(settings.resolved_index_url).migrate_json_records(LocalStorage(str(tmp_path / "no-old-records")))
    ensure_service(settings, timeout_s=120)
    try:
        yield settings
    finally:
        stop_service(settings)


def aws_client(service: str, endpoint: str, keys: dict[str, str] | None = None) -> Any:
    import boto3

    keys = keys or {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=keys.get("AWS_SESSION_TOKEN"),
    )


def admin_keys(endpoint: str) -> dict[str, str]:
    """An IAM user with AdministratorAccess, made before enforcement starts: Terraform and the set-up use it."""
    iam = aws_client("iam", endpoint)
    iam.create_user(UserName="admin")
    iam.attach_user_policy(UserName="admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def wait_for_end(states: Any, execution_arn: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        described: dict[str, Any] = states.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.5)


def test_dev_env_applies_runs_one_image_and_destroys(states_service: Settings, tmp_path: Path) -> None:
    endpoint = states_service.resolved_states_endpoint_url
    package = tmp_path / "lambda.zip"
    build_code_only_zip(package)

    admin = admin_keys(endpoint)
    terraform = Terraform(root=DEV_ENV, scratch=tmp_path, env=admin | {"AWS_EC2_METADATA_DISABLED": "true"})
    variables = {
        "name": NAME,
        "region": REGION,
        "endpoint_url": endpoint,
        "job_image_tag": "integration-test",
        "lambda_package_path": str(package),
    }
    terraform.init()
    applied = False
    try:
        terraform.apply(variables)
        applied = True
        out = terraform.outputs()

        # --- what Terraform says it deployed ------------------------------------------
        assert out["function_names"] == FUNCTIONS
        assert out["lambda_handlers"] == HANDLERS
        assert (out["job_queue"], out["job_definition"]) == (JOB_QUEUE, JOB_DEFINITION)
        state_machine_arn = out["state_machine_arn"]
        assert state_machine_arn == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{NAME}-image-ai-analysis"
        assert out["lambda_environment"]["AIORCH_STATE_MACHINE_ARN"] == state_machine_arn
        assert out["storage_url"] == f"s3://{NAME}-{ACCOUNT}-data"
        schema = json.loads((REPO / "analytics/schema.json").read_text())
        assert out["glue_table_columns"] == [{"name": c["name"], "type": c["type"]} for c in schema["columns"]]
        assert set(out["named_queries"]) == {p.stem for p in (REPO / "analytics/queries").glob("*.sql")}

        # --- what moto holds --------------------------------------------------------------
        states = aws_client("stepfunctions", endpoint)
        deployed = states.describe_state_machine(stateMachineArn=state_machine_arn)
        assert deployed["type"] == "STANDARD"
        from workflows.definition import render_definition

        expected_definition = render_definition(
            {
                "validate_input_function": FUNCTIONS["validate_input"],
                "record_result_function": FUNCTIONS["record_result"],
                "record_failure_function": FUNCTIONS["record_failure"],
                "job_queue": JOB_QUEUE,
                "job_definition": JOB_DEFINITION,
            }
        )
        assert json.loads(deployed["definition"]) == json.loads(expected_definition)
        job_definitions = aws_client("batch", endpoint).describe_job_definitions(
            jobDefinitionName=JOB_DEFINITION, status="ACTIVE"
        )["jobDefinitions"]
        assert [d["retryStrategy"]["evaluateOnExit"][0]["onStatusReason"] for d in job_definitions] == ["Host EC2*"]
        buckets = {b["Name"] for b in aws_client("s3", endpoint).list_buckets()["Buckets"]}
        assert f"{NAME}-{ACCOUNT}-data" in buckets

        # --- one execution of the deployed state machine ----------------------------------
        storage = S3Storage(BUCKET, client=aws_client("s3", endpoint, admin))
        execution_id = new_id()
        input_key = upload_key(states_service.local_user, new_id(), "png")
        storage.put_bytes(input_key, encode(photo(24)), content_type="image/png")
        request = {
            "execution_id": execution_id,
            "user": states_service.local_user,
            "operation": "denoise",
            "input_key": input_key,
            "options": {},
        }
        started = states.start_execution(
            stateMachineArn=state_machine_arn, name=execution_id, input=json.dumps({"request": request})
        )
        ended = wait_for_end(states, started["executionArn"], timeout_s=240)
        assert ended["status"] == "SUCCEEDED", ended
        results = list(storage.list(f"results/{states_service.local_user}/{execution_id}/"))
        assert any(key.rsplit("/", 1)[-1].startswith("result.") for key in results), results

    finally:
        if applied or terraform.state.exists():
            terraform.apply(variables, destroy=True)
    assert terraform.outputs() == {}
