"""ValidateInput: the state machine's first task (thin handler over validation.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ValidationError

from aiorch.contracts import AnalysisRequest
from aiorch.index import open_index
from aiorch.index.stages import VALIDATING, note_stage
from aiorch.settings import get_settings
from lambdas.powertools import lambda_entry, logger, metrics
from lambdas.records import app_storage
from lambdas.validate_input.validation import InvalidRequest, validate_request

__all__ = ["InvalidRequest", "handler"]


class ValidateInputEvent(BaseModel):
    """The state machine's input as the task receives it (``Payload.$: $``)."""

    request: AnalysisRequest


def parse_event(event: dict[str, Any]) -> AnalysisRequest:
    try:
        return ValidateInputEvent.model_validate(event).request
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or 'request'}: {err['msg']}" for err in exc.errors()
        )
        raise InvalidRequest(f"the request is malformed: {problems}") from None


@lambda_entry
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    request = parse_event(event)
    logger.append_keys(execution_id=request.execution_id, operation=request.operation)
    settings, storage = get_settings(), app_storage()
    note_stage(open_index(settings, storage), request.user, request.execution_id, "ValidateInput", VALIDATING)
    try:
        validated = validate_request(request, storage, settings)
    except InvalidRequest as exc:
        logger.info("request refused", extra={"reason": str(exc)})
        metrics.add_metric(name="RequestRefused", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="RequestAccepted", unit=MetricUnit.Count, value=1)
    return validated.model_dump(mode="json")
