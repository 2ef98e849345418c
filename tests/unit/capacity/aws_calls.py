"""The AWS API calls the shipped code makes per request, counted by running it, not read from a list.

The API app (lambdas/api) and the Lambdas a run triggers run in this process against moto, with S3
storage, the DynamoDB index and a Step Functions client, as in AWS. A botocore
``before-parameter-build`` handler on boto3's default session sees every call each client makes (it is copied into every
client made after it is registered) and records its service, operation and, for DynamoDB writes,
the partition keys written: the quota there is per partition key.

What the state machine itself calls (StartExecution's state transitions, Batch SubmitJob, Lambda
Invoke) is not made in this process: :func:`success_path` walks the ASL file for it, and the Batch
job state changes that reach the status-change handler come from the EventBridge rule in
iac/modules/workflow (:func:`job_states_sent_to_status_change`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

REPO_ROOT = Path(__file__).resolve().parents[3]
ASL_PATH = REPO_ROOT / "workflows" / "image_ai_analysis.asl.json"
WORKFLOW_TF = REPO_ROOT / "iac" / "modules" / "workflow" / "main.tf"

# The read APIs of Step Functions a status poll must not call (each has its own small token bucket).
STATES_READS = frozenset({"DescribeExecution", "GetExecutionHistory", "ListExecutions"})
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


@dataclass
class Calls:
    """What one request cost: calls by (service, operation), and DynamoDB write units by partition key.

    A transactional write costs two write units per item (DynamoDB's pricing of TransactWriteItems);
    items here are under 1 KB, the size one write unit covers."""

    by_api: Counter[tuple[str, str]] = field(default_factory=Counter)
    writes_by_partition: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: Calls) -> Calls:
        return Calls(self.by_api + other.by_api, self.writes_by_partition + other.writes_by_partition)

    def count(self, service: str, *operations: str) -> int:
        return sum(n for (svc, op), n in self.by_api.items() if svc == service and (not operations or op in operations))

    def states_reads(self) -> int:
        return self.count("stepfunctions", *STATES_READS)


def _partition_kind(key: dict[str, Any]) -> str:
    """A user's partition is named by kind, not by user: the simulation gives each user their own."""
    if "pk" not in key:
        raise ValueError(f"a DynamoDB write with no pk in its key: {sorted(key)}")
    pk = str(key["pk"]["S"])
    return "USER#" if pk.startswith("USER#") else pk


def _written_partitions(operation: str, params: dict[str, Any]) -> list[tuple[str, int]]:
    if operation == "TransactWriteItems":
        out = []
        for item in params.get("TransactItems", []):
            ((kind, body),) = item.items()
            if kind == "ConditionCheck":
                continue  # a check reads; it is not a write
            key = body.get("Key") or body.get("Item") or {}
            out.append((_partition_kind(key), 2))
        return out
    if operation == "BatchWriteItem":
        return [
            (_partition_kind(r.get("PutRequest", {}).get("Item") or r["DeleteRequest"]["Key"]), 1)
            for requests in params.get("RequestItems", {}).values()
            for r in requests
        ]
    key = params.get("Key") or params.get("Item") or {}
    return [(_partition_kind(key), 1)]


class CallRecorder:
    """Counts every AWS call of clients made after :meth:`install`; :meth:`measure` isolates one request."""

    _PARAMS = "capacity_api_params"

    def __init__(self) -> None:
        self.current = Calls()
        self.errors: list[Exception] = []

    def keep_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[self._PARAMS] = dict(params)

    def count_sent(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        self.current.by_api[(service, model.name)] += 1
        if service == "dynamodb" and model.name in DYNAMODB_WRITES:
            try:
                for partition, units in _written_partitions(model.name, context[self._PARAMS]):
                    self.current.writes_by_partition[partition] += units
            except Exception as exc:  # raised in the caller, some of which log and go on: kept to raise here
                self.errors.append(exc)
                raise

    def install(self) -> None:
        events = boto3._get_default_session().events
        events.register("before-parameter-build", self.keep_params)
        events.register("before-call", self.count_sent)

    def uninstall(self) -> None:
        events = boto3._get_default_session().events
        events.unregister("before-parameter-build", self.keep_params)
        events.unregister("before-call", self.count_sent)

    def measure(self, request: Callable[[], Any]) -> tuple[Any, Calls]:
        self.current = Calls()
        answer = request()
        calls, self.current = self.current, Calls()
        if self.errors:
            raise self.errors[0]
        return answer, calls


@contextmanager
def recording(recorder: CallRecorder) -> Iterator[CallRecorder]:
    recorder.install()
    try:
        yield recorder
    finally:
        recorder.uninstall()


# --- what the state machine makes: derived from the ASL -----------------------------------------------


@dataclass(frozen=True)
class PathCosts:
    """What one execution's path through the state machine costs Step Functions and the services it calls."""

    states_entered: list[str]
    batch_jobs: int  # batch:submitJob.sync tasks: one SubmitJob each
    lambda_tasks: list[str]  # lambda:invoke tasks: one Invoke each

    @property
    def state_transitions(self) -> int:
        # Step Functions bills and throttles a transition per state entered (StateTransition quota).
        return len(self.states_entered)


def _choice_matches(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(_choice_matches(r, data) for r in rule["And"])
    path = rule["Variable"]
    if not path.startswith("$."):
        raise ValueError(f"unsupported Choice variable {path!r}")
    value: Any = data
    present = True
    for part in path[2:].split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            present = False
            break
    if "IsPresent" in rule:
        return present == rule["IsPresent"]
    if "StringEquals" in rule:
        return present and value == rule["StringEquals"]
    if "BooleanEquals" in rule:
        return present and value is rule["BooleanEquals"]
    raise ValueError(f"unsupported Choice rule {sorted(rule)}: teach success_path about it")


def success_path(validated: dict[str, Any], definition: dict[str, Any] | None = None) -> PathCosts:
    """The states a one-image execution enters when every task succeeds, with its Batch and Lambda tasks.

    ``validated`` is what ValidateInput answers (the Choice states read ``$.validated``). A Map (a batch
    of images) is refused: its tasks repeat per chunk, which a one-image walk cannot count."""
    definition = definition or json.loads(ASL_PATH.read_text(encoding="utf-8"))
    states, data = definition["States"], {"validated": validated}
    name: str | None = definition["StartAt"]
    entered: list[str] = []
    batch_jobs, lambdas = 0, []
    while name is not None:
        state = states[name]
        entered.append(name)
        if state["Type"] == "Map":
            raise ValueError(f"{name} is a Map: a batch's tasks repeat per chunk; walk one-image runs only")
        if state["Type"] == "Task":
            resource = state["Resource"]
            if resource.startswith("arn:aws:states:::batch:submitJob"):
                batch_jobs += 1
            elif resource.startswith("arn:aws:states:::lambda:invoke"):
                lambdas.append(name)
            else:
                raise ValueError(f"{name} calls {resource}: count it")
        if state["Type"] == "Choice":
            name = next((c["Next"] for c in state["Choices"] if _choice_matches(c, data)), state.get("Default"))
        elif state.get("End") or state["Type"] in ("Succeed", "Fail"):
            name = None
        else:
            name = state["Next"]
    return PathCosts(states_entered=entered, batch_jobs=batch_jobs, lambda_tasks=lambdas)


def job_states_sent_to_status_change(tf_text: str | None = None) -> list[str]:
    """The Batch job statuses the EventBridge rule sends to the status-change handler (one Invoke each)."""
    text = tf_text if tf_text is not None else WORKFLOW_TF.read_text(encoding="utf-8")
    rule = re.search(r'resource\s+"aws_cloudwatch_event_rule"\s+"job_state_change"\s*\{(.*?)\n\}', text, re.S)
    if rule is None:
        raise ValueError(f"no job_state_change rule in {WORKFLOW_TF}")
    statuses = re.search(r"status\s*=\s*\[([^\]]*)\]", rule.group(1))
    if statuses is None:
        raise ValueError("the job_state_change rule names no statuses")
    return re.findall(r'"([A-Z_]+)"', statuses.group(1))


# --- one run of the real code, request by request -----------------------------------------------------

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
BUCKET, TABLE, MACHINE = "capacity-data", "capacity-index", "capacity-machine"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{MACHINE}"
USER = "alice"

# Request kinds, as the simulation names them.
UPLOAD_LINK = "POST /uploads (upload link)"
SUBMIT = "POST /image-ai-analysis (submit)"
POLL_RUNNING = "GET /image-ai-analysis/{id} (running, changed: 200)"
POLL_UNCHANGED = "GET /image-ai-analysis/{id} (unchanged: 304)"
POLL_FINISHED = "GET /image-ai-analysis/{id} (finished: result download links)"
LIST_HISTORY = "GET /image-ai-analysis (history page)"
VALIDATE_INPUT = "Lambda ValidateInput"
JOB_STATE_CHANGE = "Lambda status-change (one Batch job state)"
RECORD_RESULT = "Lambda RecordResult"
API_REQUESTS = (UPLOAD_LINK, SUBMIT, POLL_RUNNING, POLL_UNCHANGED, POLL_FINISHED, LIST_HISTORY)


@dataclass
class MeasuredRun:
    """The calls each request of one upscale run made, and its path through the state machine."""

    calls: dict[str, Calls]
    path: PathCosts
    job_states: list[str]  # Batch job statuses that invoke the status-change handler, per job
    statuses: dict[str, int]  # the HTTP status each API request answered


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def measure_upscale_run(
    monkeypatch: Any, data_dir: Path, poll_service: Callable[[Any], Any] | None = None
) -> MeasuredRun:
    """Run one upscale through the API and the Lambdas on moto, counting the AWS calls of each request.

    ``poll_service`` may wrap the AnalysisService the app uses (a test's fake that misbehaves)."""
    from fastapi.testclient import TestClient
    from moto import mock_aws

    from aiorch.analysis import AnalysisService
    from aiorch.contracts import AnalysisRequest
    from aiorch.index.dynamodb import table_definition
    from aiorch.settings import get_settings
    from lambdas.api.app import create_app
    from lambdas.api.auth import LocalIssuer
    from lambdas.record_result.handler import handler as record_result
    from lambdas.status_change.handler import handler as status_change
    from lambdas.validate_input.handler import handler as validate_input

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AIORCH_DATA_DIR": str(data_dir),
        "AIORCH_STORAGE_URL": f"s3://{BUCKET}/env1",
        "AIORCH_INDEX_URL": f"dynamodb://{TABLE}-{data_dir.name}",  # one index per run: open_index caches by URL
        "AIORCH_STATE_MACHINE_ARN": STATE_MACHINE_ARN,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AIORCH_STATES_ENDPOINT_URL", "AIORCH_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    recorder = CallRecorder()
    calls: dict[str, Calls] = {}
    statuses: dict[str, int] = {}

    with mock_aws(), recording(recorder):
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        boto3.client("dynamodb", region_name=REGION).create_table(**table_definition(f"{TABLE}-{data_dir.name}"))
        boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=MACHINE,
            definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/capacity",
        )
        service = AnalysisService(settings)  # S3 storage, the DynamoDB index, a Step Functions client
        app_service = poll_service(service) if poll_service else service
        client = TestClient(create_app(settings, app_service), base_url="http://127.0.0.1:8000")
        headers = {"Authorization": f"Bearer {LocalIssuer(settings).issue(USER)}"}

        def api(kind: str, method: str, url: str, extra_headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
            sent = {**headers, **(extra_headers or {})}
            response, calls[kind] = recorder.measure(lambda: client.request(method, url, headers=sent, **kwargs))
            statuses[kind] = response.status_code
            return response

        target = api(UPLOAD_LINK, "POST", "/uploads", json={"content_type": "image/png", "filename": "cat.png"})
        upload = target.json()["upload"]
        service.storage.put_bytes(upload, _png(), "image/png")  # the browser's POST, straight to S3
        submitted = api(SUBMIT, "POST", "/image-ai-analysis", json={"operation": "upscale", "upload": upload})
        execution_id = submitted.json()["execution_id"]
        execution_arn = service.execution_arn(execution_id)
        request = AnalysisRequest(execution_id=execution_id, user=USER, operation="upscale", input_key=upload)

        validated, calls[VALIDATE_INPUT] = recorder.measure(
            lambda: validate_input({"request": request.model_dump(mode="json")}, None)
        )
        path = success_path(validated)
        job_states = job_states_sent_to_status_change()
        job = validated["jobs"]["Upscale"]
        job_calls = []
        for status in job_states:
            event = {
                "source": "aws.batch",
                "detail-type": "Batch Job State Change",
                "detail": {
                    "jobName": job["name"],
                    "status": status,
                    "container": {
                        "command": job["command"],
                        "environment": [
                            {"name": "AIORCH_EXECUTION_ARN", "value": execution_arn},
                            {"name": "AIORCH_USER", "value": USER},
                        ],
                    },
                },
            }
            _, spent = recorder.measure(lambda event=event: status_change(event, None))  # type: ignore[misc]
            job_calls.append(spent)
        calls[JOB_STATE_CHANGE] = job_calls[-1]

        # The job, running: its progress.json as jobs/ writes it (the job's own S3 writes are not the API's).
        prefix = f"results/{USER}/{execution_id}/upscale/"
        service.storage.put_json(prefix + "progress.json", {"stage": "model", "done": 3, "total": 10})
        url = f"/image-ai-analysis/{execution_id}"
        running = api(POLL_RUNNING, "GET", url)
        api(POLL_UNCHANGED, "GET", url, extra_headers={"If-None-Match": running.headers["ETag"]})

        service.storage.put_bytes(prefix + "result.png", _png(), "image/png")
        service.storage.put_json(prefix + "metadata.json", {"operation": "upscale", "model": "m", "device": "cuda"})
        service.storage.put_json(prefix + "progress.json", {"stage": "done", "done": 10, "total": 10})
        outcome = {
            "input": {"request": request.model_dump(mode="json"), "validated": validated},
            "execution_arn": execution_arn,
            "started_at": "2026-12-07T10:00:00.000Z",
        }
        _, calls[RECORD_RESULT] = recorder.measure(lambda: record_result(outcome, None))
        api(POLL_FINISHED, "GET", url)
        api(LIST_HISTORY, "GET", "/image-ai-analysis")
    get_settings.cache_clear()
    return MeasuredRun(calls=calls, path=path, job_states=job_states, statuses=statuses)
