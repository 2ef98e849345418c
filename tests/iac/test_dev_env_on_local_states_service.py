"""iac/envs/dev, applied to the local states service, works as deployed: with IAM enforced,
each component signing as the role Terraform gave it.

The emulator is the local states service (a moto server with ASL execution and the
dispatch hooks). Terraform applies iac/envs/dev to it as an admin IAM user; right after the
apply the test turns on moto's IAM enforcement (``POST /moto-api/reset-auth`` with ``0``).
From then on (tests/iac/deployed_roles.py):

- every Lambda, the API included, runs from the *unpacked real package* (third-party code
  installed by pip for the Lambda platform) in its own ``python -I -S`` interpreter that
  cannot import the repository, moto or torch, with the environment Terraform gave it and
  credentials from ``sts:AssumeRole`` of its own role;
- the model jobs run with the job definition's environment and the job role's credentials
  (on the CPU: ``AIORCH_JOB_DEVICE=cpu`` over the definition's ``cuda``, the one override);
- each Lambda invoke and SubmitJob of the state machine is checked against the state
  machine role's policy;
- storage is the bucket Terraform created and the index the DynamoDB table it created;
- the user signs in to the Cognito pool Terraform created (moto issues the JWT,
  ``admin_initiate_auth``), and the API handler checks it against moto's JWKS; requests
  carry the secret header CloudFront adds (``x-origin-verify``).

Through the deployed API handler the tests upload, run each operation to SUCCEEDED, download
the result by its presigned link, find the analytics row, read the events, hit the per-user
limit (set to 1) and cancel; and one test takes a permission away and sees the run fail with
AccessDenied, named in the recorded error.

Where moto stops (so these cannot fail here; see deployed_roles.py and moto_gaps.py):
policy conditions are not evaluated, resource policies (bucket, Lambda, KMS) are not
checked, a presigned URL's signature and POST-policy conditions are not checked (its
signer's permissions are), and S3 answers NoSuchKey where AWS would answer AccessDenied to
a caller without s3:ListBucket. moto holds but does nothing with CloudFront, WAF, API
Gateway routing and its JWT authorizer, Batch compute, alarms and EventBridge (the service's
watchdog plays the status-change rule); those are checked statically in ``terraform test``.
Under enforcement moto also refuses the destroy's reads of API Gateway and CloudFront
(403), so enforcement is lifted before the destroy.
"""

from __future__ import annotations

import base64
import io
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from aiorch.settings import Settings
from aiorch.storage import LocalStorage
from lambdas.api.auth import OPERATORS_GROUP
from tests.conftest import encode, photo
from tests.iac.lambda_package import LambdaWorker, build_unpacked, builder, http_api_event
from tests.iac.terraform import DEV_ENV, REPO, Terraform, TerraformError, terraform_missing_reason
from tests.support import free_port, wait_for

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
SERVICE_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # deployed_roles.SERVICE_ACCESS_KEY

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
STATE_MACHINE = f"{NAME}-image-ai-analysis"
HANDLERS = {key: f"lambdas.{key}.handler.handler" for key in FUNCTIONS}
DEPLOYED = "tests.iac.deployed_roles"


def aws_client(service: str, endpoint: str, keys: dict[str, str] | None = None) -> Any:
    import boto3

    keys = keys or SERVICE_KEYS
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


def enforce_iam(endpoint: str, enforced: bool) -> None:
    # moto counts requests and checks IAM once the count reaches this number.
    answer = requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0" if enforced else b"inf", timeout=30)
    answer.raise_for_status()


def build_code_only_zip(path: Path) -> None:
    # What Terraform uploads: moto stores it and never runs it. The handlers run from the
    # full build (build_unpacked): the same script with the third-party packages.
    builder().build(path, with_dependencies=False)


@dataclass
class Api:
    """The deployed API function, called as API Gateway (HTTP API, payload 2.0) would through CloudFront."""

    worker: LambdaWorker
    token: str
    origin_secret: str

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any, dict]:
        headers = {"authorization": f"Bearer {token or self.token}", "x-origin-verify": self.origin_secret}
        answer = self.worker.invoke(HANDLERS["api"], http_api_event(method, path, body=body, headers=headers))
        raw = answer.get("body") or ""
        if answer.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode()
        return answer["statusCode"], (json.loads(raw) if raw else None), answer.get("headers") or {}

    def upload(self, image: bytes) -> str:
        status, target, _ = self.call("POST", "/uploads", {"content_type": "image/png"})
        assert status == 201, target
        # The browser posts exactly these fields: a SigV4 POST policy for the deployment's region (S3
        # refuses SigV2 on buckets created after 24 June 2020: "Browser-Based Uploads Using POST (AWS
        # Signature Version 4)", https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-UsingHTTPPOST.html).
        # The host here is moto's configured endpoint; the regional host in AWS is asserted by
        # tests/unit/core/test_s3_signing.py, as moto accepts any.
        assert target["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256", target["fields"]
        assert target["fields"]["x-amz-credential"].split("/")[2:] == [REGION, "s3", "aws4_request"]
        assert "AWSAccessKeyId" not in target["fields"] and "signature" not in target["fields"]
        posted = requests.post(
            target["url"], data=target["fields"], files={"file": ("in.png", image, "image/png")}, timeout=60
        )
        assert posted.status_code in (200, 201, 204), posted.text
        return str(target["upload"])

    def submit(self, operation: str, upload: str, **options: Any) -> tuple[int, Any]:
        status, body, _ = self.call(
            "POST", "/image-ai-analysis", {"operation": operation, "upload": upload, "options": options}
        )
        return status, body

    def listed_status(self, execution_id: str) -> str | None:
        """The execution's status as the user's history lists it."""
        status, page, _ = self.call("GET", "/image-ai-analysis")
        assert status == 200, page
        return next((e["status"] for e in page["items"] if e["execution_id"] == execution_id), None)

    def wait_until_final(self, execution_id: str, timeout_s: float = 300) -> dict[str, Any]:
        def final_view() -> dict[str, Any] | None:
            status, view, _ = self.call("GET", f"/image-ai-analysis/{execution_id}")
            assert status == 200, view
            return dict(view) if view["status"] not in ("RUNNING", "PENDING") else None

        ended: dict[str, Any] = wait_for(final_view, timeout_s, f"execution {execution_id} to end", poll_s=0.5)
        return ended


@dataclass
class Deployed:
    endpoint: str
    admin: dict[str, str]
    outputs: dict[str, Any]
    api: Api
    user: str
    other_api: Api  # the same function, called by a second user of the pool


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lambda-package")
    return build_unpacked(root / "lambda.zip", root / "unpacked")


@pytest.fixture(scope="module")
def states_service(tmp_path_factory: pytest.TempPathFactory, package: Path) -> Iterator[Settings]:
    from aiorch.index.sqlite import SqliteIndex
    from workflows.local.client import ensure_service, stop_service

    work = tmp_path_factory.mktemp("states-service")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    dispatch_file = work / "dispatch.json"
    dispatch_file.write_text(
        json.dumps(
            {
                # Every deployed function runs from the package as its role (deployed_roles.invoke).
                "functions": {FUNCTIONS[key]: f"{DEPLOYED}:invoke" for key in ("validate_input", "record_result",
                                                                             "record_failure")},
                "job_queues": [JOB_QUEUE],
                "job_definitions": [JOB_DEFINITION],
                "status_change_handler": f"{DEPLOYED}:status_change",
                # moto_gaps: stand-ins for APIs moto answers with 500; deployed_roles: IAM as deployed.
                "extra_hooks": ["tests.iac.moto_gaps", DEPLOYED],
            }
        )
    )  # fmt: skip
    # Batch has no AIORCH_ endpoint setting (only the status-change handler calls it, to end an
    # ended execution's jobs): botocore's own per-service variable points it at the emulator.
    endpoints = {
        "AIORCH_S3_ENDPOINT_URL": endpoint,
        "AIORCH_DYNAMODB_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_BATCH": endpoint,
    }
    (work / "deployed.json").write_text(
        json.dumps(
            {
                "region": REGION,
                "package": str(package),
                "scratch": str(work / "lambdas"),
                "status_change_function": FUNCTIONS["status_change"],
                "state_machine_name": STATE_MACHINE,
                "lambda_environment": endpoints,
                # The one override of what the job definition says: no GPU here.
                "job_environment": endpoints | {"AIORCH_JOB_DEVICE": "cpu"},
            }
        )
    )
    settings = Settings(
        data_dir=work / "data",
        storage_url=f"s3://{BUCKET}",
        s3_endpoint_url=endpoint,
        states_port=port,
        states_dispatch_file=dispatch_file,
        job_slots=1,
        aws_region=REGION,
    )
    with pytest.MonkeyPatch.context() as env:
        # AWS managed policies (AWSBatchServiceRole, ...) exist in moto only when it loads them.
        env.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        env.setenv("PYTHONPATH", str(REPO))  # so the service can import tests.iac.*
        for name, value in SERVICE_KEYS.items():  # the service's own calls (deployed_roles.SERVICE_ACCESS_KEY)
            env.setenv(name, value)
        env.delenv("AWS_SESSION_TOKEN", raising=False)
        # The service opens its index before its moto server answers, and a first opening walks the
        # storage for old JSON records: the bucket lives in that very moto server, so the walk is
        # done here first, over an empty folder (the flag it sets makes the service skip it).
        settings.data_dir.mkdir(parents=True)
        SqliteIndex(settings.resolved_index_url).migrate_json_records(LocalStorage(str(work / "no-old-records")))
        ensure_service(settings, timeout_s=120)
        try:
            yield settings
        finally:
            stop_service(settings)


def cognito_user_token(
    endpoint: str,
    admin: dict[str, str],
    pool_id: str,
    client_id: str,
    user: str = "alice@example.com",
    groups: tuple[str, ...] = (),
) -> str:
    cognito = aws_client("cognito-idp", endpoint, admin)
    cognito.admin_create_user(UserPoolId=pool_id, Username=user, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username=user, Password="Correct-Horse-9-battery", Permanent=True
    )
    for group in groups:  # before sign-in: Cognito writes the groups into the tokens it issues
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=user, GroupName=group)
    signed_in = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": "Correct-Horse-9-battery"},
    )
    return str(signed_in["AuthenticationResult"]["AccessToken"])


def jwt_subject(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


@pytest.fixture(scope="module")
def deployed(states_service: Settings, package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    endpoint = states_service.resolved_states_endpoint_url
    scratch = tmp_path_factory.mktemp("terraform")
    code_zip = scratch / "lambda.zip"
    build_code_only_zip(code_zip)
    admin = admin_keys(endpoint)
    terraform = Terraform(root=DEV_ENV, scratch=scratch, env=admin | {"AWS_EC2_METADATA_DISABLED": "true"})
    variables = {
        "name": NAME,
        "region": REGION,
        "endpoint_url": endpoint,
        "job_image_tag": "integration-test",
        "lambda_package_path": str(code_zip),
    }
    terraform.init()
    api_worker: LambdaWorker | None = None
    try:
        try:
            terraform.apply(variables)
        except TerraformError as first:
            # On a loaded 2-core machine the emulator answers slowly, and a provider retry of a call
            # that had succeeded can then fail (seen: a security group's default egress rule revoked
            # twice, InvalidPermission.NotFound; a Cognito group created twice, GroupExistsException).
            # What the failed call made is then in the emulator but not in the state, and an apply
            # over that state fails again (the group exists; the provider's plan for the Spot compute
            # environment turned inconsistent). So what the state knows is destroyed (the user pool
            # takes its groups with it) and the deploy runs once more from nothing; a real fault fails
            # it again. The first failure is reported.
            warnings.warn(f"terraform apply failed once and was run again: {str(first)[-1500:]}", stacklevel=1)
            terraform.apply(variables, destroy=True)
            terraform.apply(variables)
        outputs = terraform.outputs()

        # The API function as deployed: its environment from moto, credentials of its role.
        lam = aws_client("lambda", endpoint, admin)
        api_function = lam.get_function_configuration(FunctionName=FUNCTIONS["api"])
        api_env = dict(api_function["Environment"]["Variables"])
        role = aws_client("sts", endpoint, admin).assume_role(RoleArn=api_function["Role"], RoleSessionName="api")
        api_keys = role["Credentials"]
        pool_id = outputs["cognito_user_pool_id"]
        # alice operates the deployment (the Ops view's events route); bob is a user only.
        token = cognito_user_token(
            endpoint, admin, pool_id, api_env["AIORCH_AUTH_CLIENT_ID"], groups=(OPERATORS_GROUP,)
        )
        other_token = cognito_user_token(endpoint, admin, pool_id, api_env["AIORCH_AUTH_CLIENT_ID"], "bob@example.com")
        api_worker = LambdaWorker(
            package,
            api_env
            | {
                "AIORCH_DATA_DIR": str(scratch / "api-data"),
                "AIORCH_S3_ENDPOINT_URL": endpoint,
                "AIORCH_DYNAMODB_ENDPOINT_URL": endpoint,
                "AIORCH_AUTH_JWKS_URL": f"{endpoint}/{pool_id}/.well-known/jwks.json",  # moto's JWKS
                "AIORCH_MAX_RUNNING_EXECUTIONS_PER_USER": "1",
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": api_keys["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": api_keys["SecretAccessKey"],
                "AWS_SESSION_TOKEN": api_keys["SessionToken"],
            },
            name="api",
        )
        api = Api(worker=api_worker, token=token, origin_secret=api_env["AIORCH_API_ORIGIN_SECRET"])
        other_api = Api(worker=api_worker, token=other_token, origin_secret=api_env["AIORCH_API_ORIGIN_SECRET"])
        enforce_iam(endpoint, True)
        yield Deployed(
            endpoint=endpoint, admin=admin, outputs=outputs, api=api, user=jwt_subject(token), other_api=other_api
        )
    finally:
        enforce_iam(endpoint, False)
        if api_worker is not None:
            api_worker.close()
        if terraform.state.exists():
            terraform.apply(variables, destroy=True)
            assert terraform.outputs() == {}


def test_terraform_deploys_what_the_code_names(deployed: Deployed) -> None:
    out = deployed.outputs
    assert out["function_names"] == FUNCTIONS
    assert out["lambda_handlers"] == HANDLERS
    assert (out["job_queue"], out["job_definition"]) == (JOB_QUEUE, JOB_DEFINITION)
    state_machine_arn = out["state_machine_arn"]
    assert state_machine_arn == f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE}"
    assert out["lambda_environment"]["AIORCH_STATE_MACHINE_ARN"] == state_machine_arn
    assert out["storage_url"] == f"s3://{BUCKET}"
    schema = json.loads((REPO / "analytics/schema.json").read_text())
    assert out["glue_table_columns"] == [{"name": c["name"], "type": c["type"]} for c in schema["columns"]]
    assert set(out["named_queries"]) == {p.stem for p in (REPO / "analytics/queries").glob("*.sql")}

    states = aws_client("stepfunctions", deployed.endpoint, deployed.admin)
    described = states.describe_state_machine(stateMachineArn=state_machine_arn)
    assert described["type"] == "STANDARD"
    from workflows.definition import render_definition

    expected = render_definition(
        {
            "validate_input_function": FUNCTIONS["validate_input"],
            "record_result_function": FUNCTIONS["record_result"],
            "record_failure_function": FUNCTIONS["record_failure"],
            "job_queue": JOB_QUEUE,
            "job_definition": JOB_DEFINITION,
        }
    )
    assert json.loads(described["definition"]) == json.loads(expected)
    job_definitions = aws_client("batch", deployed.endpoint, deployed.admin).describe_job_definitions(
        jobDefinitionName=JOB_DEFINITION, status="ACTIVE"
    )["jobDefinitions"]
    assert [d["retryStrategy"]["evaluateOnExit"][0]["onStatusReason"] for d in job_definitions] == ["Host EC2*"]


def _png_header_ok(data: bytes) -> bool:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    return data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("operation", "options"),
    [("upscale", {"outscale": 2}), ("denoise", {}), ("inpaint", {})],
)
def test_each_operation_runs_through_the_deployed_api(deployed: Deployed, operation: str, options: Any) -> None:
    api = deployed.api
    upload = api.upload(encode(photo(24)))
    status, submitted = api.submit(operation, upload, **options)
    assert status == 202, submitted
    view = api.wait_until_final(submitted["execution_id"])
    assert view["status"] == "SUCCEEDED", view.get("error") or view

    # The result, downloaded by its presigned link (signed with the API role's session).
    (result,) = [r for r in view["results"] if r["key"].rsplit("/", 1)[-1].startswith("result.")][-1:]
    downloaded = requests.get(result["url"], timeout=60)
    assert downloaded.status_code == 200, downloaded.text[:300]
    assert _png_header_ok(downloaded.content)

    # RecordResult (as its role) wrote the analytics row where the Glue table reads. It finalises the
    # index entry first (the first recorder wins) and writes the row after, so the view can read
    # SUCCEEDED a moment (a cold pyarrow import, on a loaded machine seconds) before the row is there.
    s3 = aws_client("s3", deployed.endpoint, deployed.admin)

    def analytics_row() -> list[str]:
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="analytics/results/").get("Contents", [])
        return [o["Key"] for o in listed if submitted["execution_id"] in o["Key"]]

    (row_key,) = wait_for(analytics_row, 60, "RecordResult's analytics row", poll_s=0.5)
    assert row_key.endswith(".parquet"), row_key


def test_events_limit_and_cancel_through_the_deployed_api(deployed: Deployed) -> None:
    api = deployed.api
    # Long enough on the CPU to still be running when the next request comes.
    first_status, first = api.submit("upscale", api.upload(encode(photo(128))))
    assert first_status == 202, first
    execution_id = first["execution_id"]

    refused, problem = api.submit("denoise", api.upload(encode(photo(16))))
    assert refused == 429, problem  # the per-user limit of 1, as deployed (DynamoDB index, conditional writes)

    status, events, _ = api.call("GET", f"/image-ai-analysis/{execution_id}/events")
    assert status == 200, events
    assert "ExecutionStarted" in json.dumps(events)
    # The Ops view's route is for the operators group (a Cognito group the deploy made): bob is not in it.
    refused_status, refused_body, _ = deployed.other_api.call("GET", f"/image-ai-analysis/{execution_id}/events")
    assert refused_status == 403 and "operators" in refused_body["detail"], refused_body

    status, cancelled, _ = api.call("POST", f"/image-ai-analysis/{execution_id}/cancel")
    assert status == 200, cancelled
    view = api.wait_until_final(execution_id)
    assert view["status"] == "ABORTED", view
    # The user's history lists it as ABORTED at once (Step Functions' word for a running record).
    wait_for(lambda: api.listed_status(execution_id) == "ABORTED", 120, "the history to list it ABORTED", poll_s=0.5)
    # The index records it a few seconds later, when the deployed status-change function (as its
    # own role) handles the watchdog's event, as EventBridge's would in AWS: then the slot is free.

    def recorded_by_status_change() -> dict[str, Any] | None:
        items = {item["sk"]: item for item in index_items(deployed, deployed.user)}
        return items if items[f"EXEC#{execution_id}"]["recorded_by"] == "StatusChange" else None

    items = wait_for(recorded_by_status_change, 120, "the status change to record the abort", poll_s=0.5)
    assert (items[f"EXEC#{execution_id}"]["status"], items["RUNNING_COUNT"]["running"]) == ("ABORTED", "0"), items

    # Someone else's token is refused: a JWT not signed by the pool's key.
    forged = api.token.rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    refused_status, refused_body, _ = api.call("GET", f"/image-ai-analysis/{execution_id}", token=forged)
    assert refused_status == 401, refused_body

    # Deleted from the history, as the API's role (DynamoDB DeleteItem, S3 DeleteObject on results/):
    # the record goes, a tombstone stays (no late recorder brings it back), the results are gone.
    status, body, _ = api.call("DELETE", f"/image-ai-analysis/{execution_id}")
    assert status == 204, body
    status, body, _ = api.call("GET", f"/image-ai-analysis/{execution_id}")
    assert status == 404, body
    left = {item["sk"] for item in index_items(deployed, deployed.user)}
    assert f"GONE#{execution_id}" in left and f"EXEC#{execution_id}" not in left, left
    s3 = aws_client("s3", deployed.endpoint, deployed.admin)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"results/{deployed.user}/{execution_id}/")
    assert listed.get("KeyCount") == 0, listed.get("Contents")


def index_items(deployed: Deployed, user: str | None = None) -> list[dict[str, Any]]:
    """The index table as it stands (of one user when named): key, status, count, who recorded it."""
    table = deployed.outputs["lambda_environment"]["AIORCH_INDEX_URL"].removeprefix("dynamodb://")
    items = aws_client("dynamodb", deployed.endpoint, deployed.admin).scan(TableName=table)["Items"]
    if user is not None:
        items = [item for item in items if item["pk"]["S"] == f"USER#{user}"]
    return [
        {k: next(iter(v.values())) for k, v in item.items() if k in ("sk", "status", "running", "recorded_by")}
        | {"recorded_by": json.loads(item["doc"]["S"]).get("recorded_by") if "doc" in item else None}
        for item in items
    ]


def test_a_permission_taken_away_fails_the_run_with_access_denied(deployed: Deployed) -> None:
    """The harness bites: without s3:DeleteObject the job cannot clear a stale error.json.

    Run by a second user: the first one's slot (limit 1) is the cancel test's business.
    """
    iam = aws_client("iam", deployed.endpoint, deployed.admin)
    job_definition = aws_client("batch", deployed.endpoint, deployed.admin).describe_job_definitions(
        jobDefinitionName=JOB_DEFINITION, status="ACTIVE"
    )["jobDefinitions"][0]
    role_name = job_definition["containerProperties"]["jobRoleArn"].rsplit("/", 1)[-1]
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    original = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    original = json.loads(original) if isinstance(original, str) else original
    reduced = json.loads(json.dumps(original))
    for statement in reduced["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != "s3:DeleteObject"] or ["s3:GetObject"]
    assert reduced != original, "the job role had no s3:DeleteObject to take away"
    iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(reduced))
    try:
        api = deployed.other_api
        status, submitted = api.submit("denoise", api.upload(encode(photo(16))))
        assert status == 202, (submitted, index_items(deployed))
        view = api.wait_until_final(submitted["execution_id"])
    finally:
        iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(original))
    assert view["status"] == "FAILED", view
    assert "AccessDenied" in json.dumps(view["error"]), view["error"]
