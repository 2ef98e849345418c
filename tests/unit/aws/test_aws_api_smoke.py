"""Every AWS API operation the shipped code calls, called once against moto at the locked versions.

A botocore release can change how an operation goes over the wire (1.44.18 moved Athena to the
rest-json protocol, which moto 5.2.5 does not route): the symptom then surfaces deep in feature
tests. Here it surfaces by name, one case per operation.

The list of operations is derived from the code itself (:func:`derive_aws_usage`): the services come
from ``boto3.client("svc")`` / ``session.client("svc")`` / ``boto3.resource("svc")`` calls in the
shipped folders, the operations from attribute calls whose name is one of those services' operations
(botocore's own service model, snake_case), plus ``get_paginator("op")``, ``get_waiter("name")`` and
the presigning client methods (kept apart: they sign locally and send nothing). A new call with no
smoke case fails :func:`test_every_operation_the_code_calls_has_a_smoke_case` by name.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from moto import mock_aws

REPO_ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ("aiorch", "lambdas", "workflows", "jobs", "aiorch_local")
PRESIGNERS = ("generate_presigned_url", "generate_presigned_post")
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


# --- (a) what the code calls, derived from the code ---------------------------------------------------


@dataclass
class AwsUsage:
    """Services and operations found in the shipped code; each value names the files that use it."""

    services: dict[str, set[str]] = field(default_factory=dict)  # service -> files creating a client/resource
    operations: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (service, Operation) -> files
    paginated: set[tuple[str, str]] = field(default_factory=set)  # those read through get_paginator
    waiters: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (service, waiter name) -> files
    presigned: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (service, "presigner[:method]")


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _first_arg(call: ast.Call, keyword: str) -> str | None:
    if call.args:
        return _literal(call.args[0])
    return next((_literal(k.value) for k in call.keywords if k.arg == keyword), None)


def derive_aws_usage(root: Path = REPO_ROOT, folders: tuple[str, ...] = SHIPPED) -> AwsUsage:
    """Scan the shipped Python (AST, not text) for the AWS services and operations it uses."""
    usage = AwsUsage()
    attribute_calls: list[tuple[ast.Call, str]] = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            where = str(path.relative_to(root))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=where)):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    attribute_calls.append((node, where))
                    if node.func.attr in ("client", "resource") and (svc := _first_arg(node, "service_name")):
                        usage.services.setdefault(svc, set()).add(where)

    session = botocore.session.get_session()
    models = {svc: session.get_service_model(svc) for svc in usage.services}
    by_name: dict[str, list[tuple[str, str]]] = {}  # snake_case name -> [(service, Operation)]
    for svc, model in models.items():
        for operation in model.operation_names:
            by_name.setdefault(xform_name(operation), []).append((svc, operation))
    waiter_names = {
        svc: set(session.get_waiter_model(svc).waiter_names) if _has_waiters(svc) else set() for svc in models
    }

    for call, where in attribute_calls:
        name = call.func.attr  # type: ignore[attr-defined]
        if name in by_name:
            for key in by_name[name]:
                usage.operations.setdefault(key, set()).add(where)
        elif name == "get_paginator" and (op := _first_arg(call, "operation_name")):
            for key in by_name.get(op, []):
                usage.operations.setdefault(key, set()).add(where)
                usage.paginated.add(key)
        elif name == "get_waiter" and (waiter := _first_arg(call, "waiter_name")):
            for svc, names in waiter_names.items():
                if waiter in {xform_name(n) for n in names}:
                    usage.waiters.setdefault((svc, waiter), set()).add(where)
        elif name in PRESIGNERS:
            method = _first_arg(call, "ClientMethod") if name == "generate_presigned_url" else None
            owners = [svc for svc, _ in by_name.get(method, [])] if method else ["s3"]  # a POST policy is S3's
            for svc in owners:
                usage.presigned.setdefault((svc, f"{name}:{method}" if method else name), set()).add(where)
    return usage


def _has_waiters(service: str) -> bool:
    try:
        botocore.session.get_session().get_waiter_model(service)
    except Exception:  # botocore raises DataNotFoundError for a service without waiters
        return False
    return True


USAGE = derive_aws_usage()


# --- (b) one minimal call per operation, against moto ---------------------------------------------------

ROLE = f"arn:aws:iam::{ACCOUNT}:role/smoke-states"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


class Moto:
    """Clients inside ``mock_aws`` and the few resources the calls need, made on first use."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._made: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
        return self._clients[service]

    def _once(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self._made:
            self._made[name] = make()
        return self._made[name]

    def bucket(self) -> str:
        def make() -> str:
            self.client("s3").create_bucket(Bucket="smoke")
            self.client("s3").put_object(Bucket="smoke", Key="results/a.txt", Body=b"hello")
            self.client("s3").put_object(Bucket="smoke", Key="results/gone.txt", Body=b"for DeleteObject")
            return "smoke"

        return str(self._once("bucket", make))

    def table(self) -> str:
        def make() -> str:
            self.client("dynamodb").create_table(
                TableName="smoke",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            self.client("dynamodb").put_item(TableName="smoke", Item={"pk": {"S": "u"}, "sk": {"S": "1"}})
            return "smoke"

        return str(self._once("table", make))

    def state_machine(self) -> str:
        return str(
            self._once(
                "state_machine",
                lambda: self.client("stepfunctions").create_state_machine(
                    name="smoke", definition=DEFINITION, roleArn=ROLE
                )["stateMachineArn"],
            )
        )

    def execution(self) -> str:
        return str(
            self._once(
                "execution",
                lambda: self.client("stepfunctions").start_execution(
                    stateMachineArn=self.state_machine(), name="smoke-1", input="{}"
                )["executionArn"],
            )
        )

    def workgroup(self) -> str:
        def make() -> str:
            self.client("athena").create_work_group(
                Name="smoke", Configuration={"ResultConfiguration": {"OutputLocation": "s3://smoke/athena/"}}
            )
            return "smoke"

        return str(self._once("workgroup", make))

    def job_queue(self) -> str:
        def make() -> str:
            role = self.client("iam").create_role(
                RoleName="smoke-batch",
                AssumeRolePolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "batch.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                ),
            )["Role"]["Arn"]
            environment = self.client("batch").create_compute_environment(
                computeEnvironmentName="smoke", type="UNMANAGED", state="ENABLED", serviceRole=role
            )["computeEnvironmentArn"]
            return str(
                self.client("batch").create_job_queue(
                    jobQueueName="smoke",
                    state="ENABLED",
                    priority=1,
                    computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
                )["jobQueueArn"]
            )

        return str(self._once("job_queue", make))

    def query(self) -> str:
        return str(
            self._once(
                "query",
                lambda: self.client("athena").start_query_execution(
                    QueryString="SELECT 1", WorkGroup=self.workgroup(), QueryExecutionContext={"Database": "smoke"}
                )["QueryExecutionId"],
            )
        )


def _pages(aws: Moto, service: str, operation: str, **params: Any) -> list[dict[str, Any]]:
    return list(aws.client(service).get_paginator(xform_name(operation)).paginate(**params))


Case = Callable[[Moto], None]

SMOKE_CASES: dict[tuple[str, str], Case] = {
    # --- Athena (analytics over the Glue table) ---
    ("athena", "StartQueryExecution"): lambda aws: _expect(aws.query(), bool),
    ("athena", "GetQueryExecution"): lambda aws: _expect(
        aws.client("athena").get_query_execution(QueryExecutionId=aws.query())["QueryExecution"]["Status"]["State"],
        lambda state: state in {"QUEUED", "RUNNING", "SUCCEEDED", "CANCELLED"},
    ),
    ("athena", "GetQueryResults"): lambda aws: _expect(
        _pages(aws, "athena", "GetQueryResults", QueryExecutionId=aws.query())[0]["ResultSet"],
        lambda result_set: "Rows" in result_set,
    ),
    ("athena", "StopQueryExecution"): lambda aws: _expect(
        aws.client("athena").stop_query_execution(QueryExecutionId=aws.query())["ResponseMetadata"]["HTTPStatusCode"],
        lambda status: status == 200,
    ),
    # --- Batch (the status-change handler ends an ended execution's jobs) ---
    ("batch", "ListJobs"): lambda aws: _expect(
        _pages(aws, "batch", "ListJobs", jobQueue=aws.job_queue(), filters=[{"name": "JOB_NAME", "values": ["01J-*"]}])[
            0
        ]["jobSummaryList"],
        lambda jobs: jobs == [],
    ),
    ("batch", "TerminateJob"): lambda aws: _expect(
        aws.client("batch").terminate_job(jobId="01J-no-such-job", reason="smoke")["ResponseMetadata"][
            "HTTPStatusCode"
        ],
        lambda status: status == 200,
    ),
    # --- DynamoDB (the execution index in AWS) ---
    ("dynamodb", "PutItem"): lambda aws: _expect(
        aws.client("dynamodb").put_item(
            TableName=aws.table(), Item={"pk": {"S": "u"}, "sk": {"S": "2"}, "n": {"N": "1"}}
        )["ResponseMetadata"]["HTTPStatusCode"],
        lambda status: status == 200,
    ),
    ("dynamodb", "GetItem"): lambda aws: _expect(
        aws.client("dynamodb").get_item(TableName=aws.table(), Key={"pk": {"S": "u"}, "sk": {"S": "1"}})["Item"],
        lambda item: item["sk"] == {"S": "1"},
    ),
    ("dynamodb", "UpdateItem"): lambda aws: _expect(
        aws.client("dynamodb").update_item(
            TableName=aws.table(),
            Key={"pk": {"S": "u"}, "sk": {"S": "1"}},
            UpdateExpression="ADD running :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )["Attributes"],
        lambda attributes: int(attributes["running"]["N"]) >= 1,
    ),
    ("dynamodb", "Query"): lambda aws: _expect(
        _pages(
            aws,
            "dynamodb",
            "Query",
            TableName=aws.table(),
            KeyConditionExpression="pk = :u",
            ExpressionAttributeValues={":u": {"S": "u"}},
        )[0]["Items"],
        lambda items: [i["sk"]["S"] for i in items][:1] == ["1"],
    ),
    ("dynamodb", "TransactWriteItems"): lambda aws: _expect(
        aws.client("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": aws.table(),
                        "Item": {"pk": {"S": "u"}, "sk": {"S": "3"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": aws.table(),
                        "Key": {"pk": {"S": "u"}, "sk": {"S": "1"}},
                        "UpdateExpression": "ADD running :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )["ResponseMetadata"]["HTTPStatusCode"],
        lambda status: status == 200,
    ),
    # --- S3 (storage) ---
    ("s3", "PutObject"): lambda aws: _expect(
        aws.client("s3").put_object(Bucket=aws.bucket(), Key="results/b.json", Body=b"{}")["ETag"], bool
    ),
    ("s3", "GetObject"): lambda aws: _expect(
        aws.client("s3").get_object(Bucket=aws.bucket(), Key="results/a.txt")["Body"].read(),
        lambda body: body == b"hello",
    ),
    ("s3", "HeadObject"): lambda aws: _expect(
        aws.client("s3").head_object(Bucket=aws.bucket(), Key="results/a.txt")["ContentLength"],
        lambda length: length == 5,
    ),
    ("s3", "DeleteObject"): lambda aws: _expect(
        aws.client("s3").delete_object(Bucket=aws.bucket(), Key="results/gone.txt")["ResponseMetadata"][
            "HTTPStatusCode"
        ],
        lambda status: status == 204,
    ),
    ("s3", "ListObjectsV2"): lambda aws: _expect(
        [
            o["Key"]
            for p in _pages(aws, "s3", "ListObjectsV2", Bucket=aws.bucket(), Prefix="results/")
            for o in p.get("Contents", [])
        ],
        lambda listed: "results/a.txt" in listed,
    ),
    # --- Step Functions (the workflow; locally a moto server) ---
    ("stepfunctions", "CreateStateMachine"): lambda aws: _expect(
        aws.state_machine(), lambda arn: arn.endswith(":smoke")
    ),
    ("stepfunctions", "DescribeStateMachine"): lambda aws: _expect(
        aws.client("stepfunctions").describe_state_machine(stateMachineArn=aws.state_machine())["definition"],
        lambda definition: json.loads(definition)["StartAt"] == "Done",
    ),
    ("stepfunctions", "ListStateMachines"): lambda aws: _listed(
        aws.state_machine(),
        [m["stateMachineArn"] for m in aws.client("stepfunctions").list_state_machines()["stateMachines"]],
    ),
    ("stepfunctions", "StartExecution"): lambda aws: _expect(aws.execution(), lambda arn: arn.endswith(":smoke-1")),
    ("stepfunctions", "DescribeExecution"): lambda aws: _expect(
        aws.client("stepfunctions").describe_execution(executionArn=aws.execution())["status"],
        lambda status: status in {"RUNNING", "SUCCEEDED", "ABORTED"},
    ),
    ("stepfunctions", "ListExecutions"): lambda aws: _listed(
        aws.execution(),
        [
            e["executionArn"]
            for e in aws.client("stepfunctions").list_executions(stateMachineArn=aws.state_machine())["executions"]
        ],
    ),
    ("stepfunctions", "GetExecutionHistory"): lambda aws: _expect(
        aws.client("stepfunctions").get_execution_history(executionArn=aws.execution())["events"],
        lambda events: isinstance(events, list),
    ),
    ("stepfunctions", "StopExecution"): lambda aws: _expect(
        aws.client("stepfunctions").stop_execution(executionArn=aws.execution(), error="Smoke")["stopDate"],
        bool,
    ),
}

PRESIGN_CASES: dict[tuple[str, str], Case] = {
    ("s3", "generate_presigned_url:get_object"): lambda aws: _expect(
        aws.client("s3").generate_presigned_url(
            "get_object",
            Params={"Bucket": aws.bucket(), "Key": "results/a.txt", "ResponseContentDisposition": "attachment"},
            ExpiresIn=60,
        ),
        lambda url: "X-Amz-Signature=" in url or "Signature=" in url,
    ),
    ("s3", "generate_presigned_post"): lambda aws: _expect(
        aws.client("s3").generate_presigned_post(
            Bucket=aws.bucket(),
            Key="uploads/u/1/original.png",
            Fields={"Content-Type": "image/png"},
            Conditions=[["content-length-range", 1, 100], {"Content-Type": "image/png"}],
            ExpiresIn=60,
        )["fields"],
        lambda fields: "policy" in fields and fields["key"] == "uploads/u/1/original.png",
    ),
}

# Operations the code calls that moto 5.2.5 does not emulate, each with its reason. Keep this small:
# an entry here is an operation no test at the locked versions has called.
NOT_EMULATED: dict[tuple[str, str], str] = {}
NOT_EMULATED_MAX = 3


def _expect(value: Any, check: Callable[[Any], Any]) -> None:
    assert check(value), value


def _listed(made: str, listed: list[str]) -> None:
    """``made`` is evaluated first (the argument order), so the listing call sees it."""
    assert made in listed, (made, listed)


@pytest.fixture(scope="module")
def aws() -> Iterator[Moto]:
    """One in-process moto for the module (clients are the slow part); the cases do not depend on order."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            env.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            env.delenv(name, raising=False)
        with mock_aws():
            yield Moto()


# --- (c) the table covers what the code calls ----------------------------------------------------------


def test_the_derivation_finds_the_services_and_operations_the_code_is_known_to_call() -> None:
    """A guard on the scanner itself: an empty or shrunken derivation would make the checks below vacuous."""
    assert set(USAGE.services) >= {"s3", "dynamodb", "stepfunctions", "athena"}, USAGE.services
    assert ("athena", "StartQueryExecution") in USAGE.operations
    assert ("s3", "ListObjectsV2") in USAGE.paginated  # found through get_paginator only
    assert ("s3", "generate_presigned_post") in USAGE.presigned


def test_every_operation_the_code_calls_has_a_smoke_case() -> None:
    missing = {
        f"{svc}:{op} (called in {', '.join(sorted(files))})"
        for (svc, op), files in USAGE.operations.items()
        if (svc, op) not in SMOKE_CASES and (svc, op) not in NOT_EMULATED
    }
    assert not missing, f"AWS operations with no smoke case and not listed as not emulated: {sorted(missing)}"
    unpresigned = set(USAGE.presigned) - set(PRESIGN_CASES)
    assert not unpresigned, f"presigning calls with no smoke case: {sorted(unpresigned)}"
    assert not USAGE.waiters, f"waiters need smoke cases too: {sorted(USAGE.waiters)}"


def test_every_smoke_case_is_for_an_operation_the_code_calls() -> None:
    """No stale cases: a case for an operation nobody calls any more tests nothing the product needs."""
    stale = (set(SMOKE_CASES) - set(USAGE.operations)) | (set(PRESIGN_CASES) - set(USAGE.presigned))
    assert not stale, sorted(stale)


def test_the_not_emulated_set_stays_small_and_is_really_used() -> None:
    assert len(NOT_EMULATED) <= NOT_EMULATED_MAX, sorted(NOT_EMULATED)
    for key, reason in NOT_EMULATED.items():
        assert key in USAGE.operations, f"{key} is listed as not emulated but the code no longer calls it"
        assert key not in SMOKE_CASES, f"{key} has a smoke case: drop it from NOT_EMULATED"
        assert reason.strip(), key


# --- (d) the smoke test ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation"), sorted(SMOKE_CASES), ids=[f"{s}:{o}" for s, o in sorted(SMOKE_CASES)]
)
def test_operation_answers_at_the_locked_versions(aws: Moto, service: str, operation: str) -> None:
    try:
        SMOKE_CASES[(service, operation)](aws)
    except ClientError as exc:  # say which operation of the product broke, not only which call failed
        pytest.fail(f"{service}:{operation} does not answer at these botocore/moto versions: {exc}")


@pytest.mark.parametrize(
    ("service", "method"), sorted(PRESIGN_CASES), ids=[f"{s}:{m}" for s, m in sorted(PRESIGN_CASES)]
)
def test_presigning_works_at_the_locked_versions(aws: Moto, service: str, method: str) -> None:
    PRESIGN_CASES[(service, method)](aws)
