"""The four botocore hooks that bind moto's interpreter to local code (DESIGN.md).

moto's ASL interpreter calls Lambda and Batch through boto3 clients created on
boto3's default session. Handlers registered on that session's events answer
those calls before any HTTP request is made:

- ``before-parameter-build.{batch.SubmitJob,batch.DescribeJobs,lambda.Invoke}``: map
  Step Functions casing to boto3's and keep the parameters for the next hook;
- ``before-call.lambda.Invoke``: call the handler function in-process;
- ``before-call.batch.SubmitJob``: queue a local job, answer ``JobId``;
- ``before-call.batch.DescribeJobs``: answer the jobs in Step Functions casing
  (plus the lower-case ``status`` moto's ``.sync`` loop reads).

Anything that replaces boto3's default session in this process drops them.
"""

from __future__ import annotations

import io
import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.hooks import BaseEventHooks

from workflows.local.casing import to_boto_casing, to_sfn_casing
from workflows.local.dispatch import Dispatch, LocalLambdaContext, batch_name, function_name, import_handler
from workflows.local.jobs import JobRunner

log = logging.getLogger(__name__)

_PARAMS = "aiorch_params"  # key in botocore's per-call context dict


def _ok() -> AWSResponse:
    return AWSResponse(url="local://aiorch", status_code=200, headers={}, raw=None)  # type: ignore[arg-type]


def client_error(code: str, message: str, status: int, operation: str) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "local"},
    }
    return ClientError(response, operation)  # type: ignore[arg-type]


def lambda_error_payload(exc: BaseException) -> dict[str, Any]:
    """What AWS Lambda returns for an unhandled exception (its class name becomes the task's Error)."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_exception(exc)[-6:],
    }


class LocalDispatchHooks:
    def __init__(self, dispatch: Dispatch, runner: JobRunner, *, region: str, lambda_timeout_s: float) -> None:
        self.dispatch = dispatch
        self.runner = runner
        self.region = region
        self.lambda_timeout_s = lambda_timeout_s

    def install(self, events: BaseEventHooks) -> None:
        for operation in ("batch.SubmitJob", "batch.DescribeJobs", "lambda.Invoke"):
            events.register(f"before-parameter-build.{operation}", self.keep_boto_params)
        # A before-call handler that returns (http response, parsed answer) short-circuits the request.
        answering: dict[str, Callable[..., Any]] = {
            "lambda.Invoke": self.invoke_lambda,
            "batch.SubmitJob": self.submit_job,
            "batch.DescribeJobs": self.describe_jobs,
        }
        for operation, handler in answering.items():
            events.register(f"before-call.{operation}", handler)

    def keep_boto_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        normalised = to_boto_casing(params, model.input_shape)
        params.clear()
        params.update(normalised)
        context[_PARAMS] = normalised

    def invoke_lambda(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context[_PARAMS]
        name = function_name(params["FunctionName"])
        target = self.dispatch.functions.get(name)
        if target is None:
            raise client_error(
                "ResourceNotFoundException", f"Function not found: {name} (no local handler)", 404, "Invoke"
            )
        raw = params.get("Payload") or b"{}"
        event = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        lambda_context = LocalLambdaContext(function_name=name, timeout_s=self.lambda_timeout_s, region=self.region)
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        try:
            handler = import_handler(target)
        except Exception as exc:  # AWS reports a handler that cannot load as Runtime.ImportModuleError
            log.exception("local Lambda %s: cannot load %s", name, target)
            body = json.dumps({"errorMessage": f"{target}: {exc}", "errorType": "Runtime.ImportModuleError"})
            response["FunctionError"] = "Unhandled"
        else:
            try:
                body = json.dumps(handler(event, lambda_context))
            except Exception as exc:  # a handler error is the function's error, as in AWS
                log.info("local Lambda %s raised %s: %s", name, type(exc).__name__, exc)
                body = json.dumps(lambda_error_payload(exc))
                response["FunctionError"] = "Unhandled"
        response["Payload"] = io.BytesIO(body.encode("utf-8"))
        return _ok(), response

    def submit_job(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context[_PARAMS]
        queue, definition = params.get("jobQueue", ""), params.get("jobDefinition", "")
        if not self.dispatch.knows_queue(queue):
            raise client_error("ClientException", f"Job queue {queue!r} does not exist locally", 400, "SubmitJob")
        if not self.dispatch.knows_definition(definition):
            raise client_error(
                "ClientException", f"Job definition {definition!r} does not exist locally", 400, "SubmitJob"
            )
        overrides = params.get("containerOverrides") or {}
        environment = {e["name"]: str(e.get("value", "")) for e in overrides.get("environment") or []}
        try:
            job = self.runner.submit(
                name=params.get("jobName", ""),
                queue=batch_name(queue, "job-queue"),
                definition=batch_name(definition, "job-definition"),
                command=overrides.get("command") or [],
                environment=environment,
            )
        except ValueError as exc:
            raise client_error("ClientException", str(exc), 400, "SubmitJob") from exc
        described = job.describe()
        return _ok(), {"JobId": job.job_id, "JobName": job.job_name, "JobArn": described["jobArn"]}

    def describe_jobs(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        job_shape = model.output_shape.members["jobs"].member
        jobs = []
        for job in self.runner.describe(context[_PARAMS].get("jobs", [])):
            jobs.append(to_sfn_casing(job, job_shape) | {"status": job["status"]})
        return _ok(), {"jobs": jobs}
