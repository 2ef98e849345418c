"""Which local code answers which AWS name: Lambda functions → handlers, Batch names → the job runner.

Defaults cover the local deployment (``LOCAL_VALUES``). ``settings.states_dispatch_file``
adds more, e.g. the names Terraform gives when it deploys the same definition
into this service::

    {
      "functions": {"my-validate": "lambdas.validate_input.handler:handler"},
      "job_queues": ["my-queue"],
      "job_definitions": ["my-job"],
      "status_change_handler": "lambdas.status_change.handler:handler",
      "extra_hooks": ["some.module"]
    }

``extra_hooks`` modules are imported before the dispatch hooks are installed and
their ``register(events, settings)`` may add botocore handlers first (tests use
this to inject the API faults AWS produces, such as throttling).
"""

from __future__ import annotations

import importlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiorch.settings import Settings
from workflows.local import LOCAL_VALUES

Handler = Callable[[Any, Any], Any]

DEFAULT_FUNCTIONS: dict[str, str] = {
    LOCAL_VALUES["validate_input_function"]: "lambdas.validate_input.handler:handler",
    LOCAL_VALUES["record_result_function"]: "lambdas.record_result.handler:handler",
    LOCAL_VALUES["record_failure_function"]: "lambdas.record_failure.handler:handler",
}
DEFAULT_STATUS_CHANGE_HANDLER = "lambdas.status_change.handler:handler"


class DispatchError(ValueError):
    """The dispatch configuration is unusable."""


@dataclass
class Dispatch:
    functions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FUNCTIONS))
    job_queues: set[str] = field(default_factory=lambda: {LOCAL_VALUES["job_queue"]})
    job_definitions: set[str] = field(default_factory=lambda: {LOCAL_VALUES["job_definition"]})
    status_change_handler: str = DEFAULT_STATUS_CHANGE_HANDLER
    extra_hooks: list[str] = field(default_factory=list)

    def knows_queue(self, queue: str) -> bool:
        return batch_name(queue, "job-queue") in self.job_queues

    def knows_definition(self, definition: str) -> bool:
        return batch_name(definition, "job-definition") in self.job_definitions


def load_dispatch(settings: Settings) -> Dispatch:
    dispatch = Dispatch()
    if settings.states_dispatch_file is None:
        return dispatch
    try:
        raw = json.loads(settings.states_dispatch_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DispatchError(f"cannot read dispatch file {settings.states_dispatch_file}: {exc}") from exc
    allowed = {"functions", "job_queues", "job_definitions", "status_change_handler", "extra_hooks"}
    if not isinstance(raw, dict) or set(raw) - allowed:
        raise DispatchError(f"dispatch file {settings.states_dispatch_file}: expected an object with {allowed}")
    for name, target in raw.get("functions", {}).items():
        if ":" not in target:
            raise DispatchError(f"function {name!r}: handler {target!r} is not 'module:function'")
        dispatch.functions[name] = target
    dispatch.job_queues.update(raw.get("job_queues", []))
    dispatch.job_definitions.update(raw.get("job_definitions", []))
    dispatch.status_change_handler = raw.get("status_change_handler", dispatch.status_change_handler)
    dispatch.extra_hooks = list(raw.get("extra_hooks", []))
    return dispatch


def import_handler(target: str) -> Handler:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    handler = getattr(module, attr, None)
    if not callable(handler):
        raise DispatchError(f"{target!r} is not a callable handler")
    return handler


def function_name(name_or_arn: str) -> str:
    """``arn:aws:lambda:r:a:function:NAME[:qualifier]`` or ``a:function:NAME`` → NAME."""
    parts = name_or_arn.split(":")
    if "function" in parts:
        return parts[parts.index("function") + 1]
    return name_or_arn


def batch_name(name_or_arn: str, kind: str) -> str:
    """``arn:aws:batch:r:a:job-definition/NAME:3`` or ``NAME:3`` → NAME."""
    tail = name_or_arn.split(f":{kind}/", 1)[-1]
    return tail.split(":", 1)[0]


@dataclass
class LocalLambdaContext:
    """The attributes of a Lambda context object that handlers (and powertools) read."""

    function_name: str
    timeout_s: float = 60.0
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    region: str = "us-east-1"
    account: str = "123456789012"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
