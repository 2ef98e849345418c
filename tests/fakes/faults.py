"""Inject the API faults AWS produces (throttling, Lambda service errors) into the local service.

Listed in a dispatch file's ``extra_hooks``. Faults come from ``<data_dir>/faults.json``::

    {"batch.SubmitJob": [{"code": "TooManyRequestsException", "status": 429, "times": 1}],
     "lambda.Invoke": [{"code": "ServiceException", "status": 500, "times": 1,
                        "function": "aiorch-validate-input"}]}

Each call consumes one ``times`` of the first matching fault and raises it as a ClientError.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from botocore.hooks import BaseEventHooks

from aiorch.settings import Settings
from tests.fakes import record_call
from workflows.local.dispatch import function_name
from workflows.local.hooks import client_error

_lock = threading.Lock()


def register(events: BaseEventHooks, settings: Settings) -> None:
    path = settings.data_dir / "faults.json"

    def maybe_fail(operation: str, params: dict[str, Any]) -> None:
        with _lock:
            try:
                faults = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return
            for fault in faults.get(operation, []):
                wanted = fault.get("function")
                if wanted and function_name(params.get("FunctionName", "")) != wanted:
                    continue
                if fault.get("times", 0) > 0:
                    fault["times"] -= 1
                    path.write_text(json.dumps(faults), encoding="utf-8")
                    record_call("fault", operation=operation, code=fault["code"])
                    raise client_error(fault["code"], "injected fault", fault.get("status", 500), operation)

    def on_submit_job(context: dict[str, Any], **_: Any) -> None:
        maybe_fail("batch.SubmitJob", context.get("aiorch_params", {}))

    def on_invoke(context: dict[str, Any], **_: Any) -> None:
        maybe_fail("lambda.Invoke", context.get("aiorch_params", {}))

    events.register("before-call.batch.SubmitJob", on_submit_job)
    events.register("before-call.lambda.Invoke", on_invoke)
