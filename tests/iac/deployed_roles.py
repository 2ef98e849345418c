"""IAM as deployed, inside the local states service, for the IaC fidelity test.

Loaded through the dispatch file's ``extra_hooks`` into the states service's own process
(where moto's server and backends live) and through its ``functions`` /
``status_change_handler`` targets. Nothing outside tests uses it.

What it does, each as AWS would:

- **Lambdas run as deployed.** ``invoke`` (the dispatch target of every deployed function)
  sends the event to that function's own long-lived ``python -I -S`` interpreter over the
  *unpacked Lambda package* (tests/iac/lambda_package.py), with the function's environment
  as Terraform set it in moto and the credentials of ``sts:AssumeRole`` on the function's
  own role: the handlers' S3, DynamoDB and Step Functions calls are checked against that
  role's policy by moto's IAM enforcement.
- **Jobs run as deployed.** A ``batch.SubmitJob`` hook gives the job the job definition's
  environment, the task's container overrides over it, and the *job role's* credentials.
- **The state machine's role is checked.** moto's interpreter signs its Lambda and Batch
  calls with fixed keys (they never reach its IAM check), so the hooks check each
  ``lambda:InvokeFunction`` and ``batch:SubmitJob`` against the policy of the role
  Terraform gave the state machine, and fail the call with AccessDeniedException as AWS does.
- **Presigned URLs act with their signer's permissions.** moto's IAM check reads only the
  ``Authorization`` header and answers a presigned GET or POST with 500 once enforcement is
  on; here the signer's key (``X-Amz-Credential``, or SigV2's ``AWSAccessKeyId``, in the
  query or form) is looked up and its policies are checked for the request's action and
  object. The signature itself and the POST policy's conditions are not checked.
- **DynamoDB and Step Functions calls are authorized against their table, index, state
  machine or execution** (moto checks them against ``*``, which no scoped policy matches).
- **Transactions are authorized item by item**, as in AWS (moto checks an IAM action
  ``dynamodb:TransactWriteItems`` that does not exist).
- **The service's own calls are AWS's own.** The local states service (its watchdog, the
  durable history) signs with ``SERVICE_ACCESS_KEY``; those calls stand for Step Functions'
  and EventBridge's internal bookkeeping and are not checked.

Where the emulation stops (say so wherever it matters): policy conditions are not evaluated
(see moto_gaps.py), resource policies (bucket policies, Lambda permissions, KMS key policies)
are not checked, the EventBridge rule's permission to invoke the status-change function is
not checked, and S3 answers NoSuchKey for a missing key even to a caller without
``s3:ListBucket`` (AWS answers AccessDenied: aiorch.storage.s3 handles both).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.iac.lambda_package import LambdaError, LambdaWorker

ACCOUNT = "123456789012"
PARTITION = "aws"
SERVICE_ACCESS_KEY = "testing"  # what the states service itself signs with (its environment)
_PARAMS = "aiorch_params"  # workflows.local.hooks keeps the call's parameters under this key

_config_path: Path | None = None
_workers: dict[str, LambdaWorker] = {}
_workers_lock = threading.Lock()


# --- the harness's set-up, written by the test next to the dispatch file ------------------


def config() -> dict[str, Any]:
    """``deployed.json``: the unpacked package, the endpoint, per-function overrides (read on each use:
    the test writes it after the apply, once the roles exist)."""
    assert _config_path is not None, "register() has not run"
    loaded: dict[str, Any] = json.loads(_config_path.read_text())
    return loaded


# --- IAM, evaluated with moto's own policy engine ---------------------------------------------


def role_policies(role_arn: str) -> list[Any]:
    """The identity policies of a role: inline and attached (what moto enforces for its sessions)."""
    from moto.iam.models import iam_backends

    iam = iam_backends[ACCOUNT][PARTITION]
    name = role_arn.rsplit("/", 1)[-1]
    policies: list[Any] = [iam.get_role_policy(name, p)[1] for p in iam.list_role_policies(name)]
    attached, _ = iam.list_attached_role_policies(name)
    return policies + list(attached)


def permits(policies: list[Any], action: str, resource: str) -> bool:
    """IAM's rule: an explicit Deny wins, else some Allow is needed."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    permitted = False
    for policy in policies:
        result = IAMPolicy(policy).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return False
        permitted = permitted or result == PermissionResult.PERMITTED
    return permitted


def assume_role(role_arn: str, session: str) -> dict[str, str]:
    """Credentials of an ``sts:AssumeRole`` on ``role_arn``, made in moto's STS backend.

    In-process, because under enforcement moto checks AssumeRole against the *caller's*
    principal, while the roles trust the AWS services (lambda, ecs-tasks) that assume them.
    """
    from moto.sts.models import sts_backends

    assumed = sts_backends[ACCOUNT][PARTITION].assume_role(
        region_name=config()["region"],
        role_session_name=session,
        role_arn=role_arn,
        policy="",
        duration=3600,
        external_id="",
    )
    return {
        "AWS_ACCESS_KEY_ID": assumed.access_key_id,
        "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
        "AWS_SESSION_TOKEN": assumed.session_token,
    }


def state_machine_role() -> str:
    """The role of the state machine Terraform deployed (the service also holds its own local one)."""
    # With ASL execution on (the local states service), moto keeps state machines in its parser's backend.
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    machines = stepfunctions_parser_backends[ACCOUNT][config()["region"]].state_machines
    (deployed,) = [m for m in machines if m.name == config()["state_machine_name"]]
    return str(deployed.roleArn)


def access_denied(operation: str, action: str, resource: str) -> Exception:
    from workflows.local.hooks import client_error

    role = state_machine_role()
    message = f"{role} is not authorized to perform: {action} on resource: {resource}"
    return client_error("AccessDeniedException", message, 403, operation)


# --- the state machine's calls ----------------------------------------------------------------


def check_invoke(context: dict[str, Any], **_: Any) -> None:
    from workflows.local.dispatch import function_name

    name = function_name(context[_PARAMS]["FunctionName"])
    resource = f"arn:aws:lambda:{config()['region']}:{ACCOUNT}:function:{name}"
    if not permits(role_policies(state_machine_role()), "lambda:InvokeFunction", resource):
        raise access_denied("Invoke", "lambda:InvokeFunction", resource)


def job_definition(name_or_arn: str) -> Any:
    from moto.batch.models import batch_backends

    found = batch_backends[ACCOUNT][config()["region"]].get_job_definition(name_or_arn)
    assert found is not None, f"no job definition {name_or_arn!r} in moto"
    return found


def submit_job_as_deployed(context: dict[str, Any], **_: Any) -> None:
    """Check the state machine may submit, then give the job what Batch would: its definition's
    environment under the task's overrides, and the job role's credentials."""
    params = context[_PARAMS]
    region = config()["region"]
    queue = params["jobQueue"]
    queue_arn = queue if queue.startswith("arn:") else f"arn:aws:batch:{region}:{ACCOUNT}:job-queue/{queue}"
    definition = job_definition(params["jobDefinition"])
    policies = role_policies(state_machine_role())
    for resource in (queue_arn, definition.arn):
        if not permits(policies, "batch:SubmitJob", resource):
            raise access_denied("SubmitJob", "batch:SubmitJob", resource)
    overrides = params.setdefault("containerOverrides", {})
    task_environment = {e["name"]: e["value"] for e in overrides.get("environment") or []}
    defined = {e["name"]: e["value"] for e in definition.container_properties.get("environment") or []}
    job_role = definition.container_properties["jobRoleArn"]
    environment = (
        defined
        | task_environment
        | config()["job_environment"]
        | assume_role(job_role, f"job-{params.get('jobName', 'job')}"[:64])
    )
    overrides["environment"] = [{"name": k, "value": v} for k, v in environment.items()]


# --- Lambda: the deployed package in its own interpreter, as its own role -------------------------


class DeployedFunctionError(Exception):
    """A handler's error from the package interpreter; its class name is set to the handler's."""


def worker(function: str) -> LambdaWorker:
    from moto.awslambda.models import lambda_backends

    with _workers_lock:
        if function not in _workers:
            settings = config()
            deployed = lambda_backends[ACCOUNT][settings["region"]].get_function(function)
            scratch = Path(settings["scratch"]) / function
            scratch.mkdir(parents=True, exist_ok=True)
            environment = (
                dict(deployed.environment_vars)
                | settings["lambda_environment"]
                | {"AIORCH_DATA_DIR": str(scratch), "AWS_REGION": settings["region"]}
                | assume_role(deployed.role, f"lambda-{function}"[:64])
            )
            _workers[function] = LambdaWorker(Path(settings["package"]), environment, name=function)
        return _workers[function]


def call_deployed(function: str, event: Any) -> Any:
    from moto.awslambda.models import lambda_backends

    handler = lambda_backends[ACCOUNT][config()["region"]].get_function(function).handler
    try:
        return worker(function).invoke(handler, event)
    except LambdaError as exc:
        # The task's Error is the handler's exception class name (the ASL catches by it).
        error_type = type(str(exc.error["errorType"]), (DeployedFunctionError,), {})
        raise error_type(exc.error["errorMessage"]) from None


def invoke(event: Any, context: Any) -> Any:
    """Dispatch target of every deployed function (the dispatch gives the function's name in the context)."""
    return call_deployed(context.function_name, event)


def status_change(event: Any, context: Any) -> Any:
    """Dispatch target of the status-change rule: the deployed status-change function."""
    return call_deployed(config()["status_change_function"], event)


# --- moto's IAM check: the service's own calls and presigned requests ---------------------------


def _request_values(response: Any) -> dict[str, Any]:
    """The query string's and (for a POST form) the form's fields of the request moto is answering."""
    from urllib.parse import parse_qs, urlparse

    return dict(getattr(response, "querystring", None) or {}) | parse_qs(urlparse(response.uri).query)


def _query_value(values_by_name: dict[str, Any], name: str) -> str | None:
    for key, values in values_by_name.items():
        if key.lower() == name.lower() and values:
            return str(values[0])
    return None


def presigned_credential(values: dict[str, Any]) -> str | None:
    """The signer's key of a presigned request: SigV4's X-Amz-Credential or SigV2's AWSAccessKeyId."""
    return _query_value(values, "X-Amz-Credential") or _query_value(values, "AWSAccessKeyId")


def _presigned_signer_permits(response: Any, resource: str) -> None:
    from moto.iam.access_control import create_access_key
    from moto.s3.exceptions import S3AccessDeniedError

    querystring = _request_values(response)
    credential = presigned_credential(querystring) or ""
    token = _query_value(querystring, "X-Amz-Security-Token")
    key = create_access_key(
        account_id=ACCOUNT,
        partition=PARTITION,
        access_key_id=credential.split("/", 1)[0],
        headers={"X-Amz-Security-Token": token} if token else {},
    )
    action = f"s3:{response._get_action()}"
    object_key = _query_value(querystring, "key")
    if object_key and resource.count("/") == 0:  # a presigned POST names its key in the form
        resource = f"{resource}/{object_key}"
    if not permits(key.collect_policies(), action, resource):
        raise S3AccessDeniedError()


# AWS authorizes a transaction item by item, as the single-item action (there is no IAM action
# TransactWriteItems: DynamoDB developer guide, "Using IAM with DynamoDB transactions"); moto
# checks "dynamodb:TransactWriteItems", which no least-privilege policy grants.
TRANSACT_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                         "ConditionCheck": "ConditionCheckItem"}  # fmt: skip


def table_arn(region: str, table: str) -> str:
    return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}"


def _check_transaction_item_by_item(response: Any, iam_request_cls: type) -> None:
    from urllib.parse import urlparse

    query = urlparse(response.uri).query
    path = response.raw_path + (f"?{query}" if query else "")
    request = iam_request_cls(
        account_id=response.current_account, method=response.method, path=path, data=response.data,
        body=response.raw_body, headers=response.headers, action="TransactWriteItems",
    )  # fmt: skip
    request.check_signature()
    for item in json.loads(response.raw_body)["TransactItems"]:
        ((kind, spec),) = item.items()
        request._action = f"dynamodb:{TRANSACT_ITEM_ACTIONS[kind]}"
        request.check_action_permitted(table_arn(request._region, spec["TableName"]))


def request_resource(response: Any) -> str:
    """The resource AWS authorizes a DynamoDB or Step Functions call against.

    moto checks these two services' calls against ``*`` (their handlers name no resource), so a
    least-privilege policy, scoped to the table or state machine as AWS wants it, never matched.
    """
    target = str(response.headers.get("X-Amz-Target") or "")
    try:
        body = json.loads(response.raw_body or b"{}")
    except ValueError:
        return "*"
    region = response.region
    if target.startswith("DynamoDB_") and "TableName" in body:
        table = table_arn(region, body["TableName"])
        return f"{table}/index/{body['IndexName']}" if body.get("IndexName") else table
    if target.startswith("AWSStepFunctions."):
        return str(body.get("executionArn") or body.get("stateMachineArn") or "*")
    return "*"


def enforce_like_aws() -> Callable[[], None]:
    """Patch moto's IAM check (see the module's docstring); returns the undo."""
    from moto import settings as moto_settings
    from moto.core.authorization import ActionAuthenticatorMixin

    moto_check = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def check(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        enforcing = ActionAuthenticatorMixin.request_count >= moto_settings.INITIAL_NO_AUTH_ACTION_COUNT
        authorization = self.headers.get("Authorization") or ""
        if enforcing and f"Credential={SERVICE_ACCESS_KEY}/" in authorization:
            return
        if enforcing and not authorization and presigned_credential(_request_values(self)):
            _presigned_signer_permits(self, resource)
            return
        if enforcing and str(self.headers.get("X-Amz-Target") or "").endswith(".TransactWriteItems"):
            _check_transaction_item_by_item(self, iam_request_cls)
            return
        moto_check(self, iam_request_cls, request_resource(self) if resource == "*" else resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = check  # type: ignore[method-assign]

    def undo() -> None:
        ActionAuthenticatorMixin._authenticate_and_authorize_action = moto_check  # type: ignore[method-assign]

    return undo


def register(events: Any, settings: Any) -> None:
    global _config_path
    _config_path = Path(settings.states_dispatch_file).parent / "deployed.json"
    enforce_like_aws()
    # Registered before the dispatch hooks, so these run first on the same events.
    events.register("before-call.lambda.Invoke", check_invoke)
    events.register("before-call.batch.SubmitJob", submit_job_as_deployed)
