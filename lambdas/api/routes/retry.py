"""One-click retry of an ended execution that failed, was aborted or timed out (aiorch/analysis/retry.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from aiorch.analysis.retry import retry
from aiorch.webhooks import Webhooks
from lambdas.api import schemas
from lambdas.api.context import STATES_DOWN, UNAUTHORIZED, Ctx, ExecutionId, User, base_url, execution_out
from lambdas.api.routes.webhooks import subscribe_webhook

router = APIRouter(tags=["analyses"], responses=UNAUTHORIZED)


@router.post(
    "/image-ai-analysis/{execution_id}/retry",
    status_code=202,
    response_model=schemas.ExecutionOut,
    responses={
        202: {"headers": {"Location": {"description": "The new execution.", "schema": {"type": "string"}}}},
        404: {},
        409: {"description": "Still running, or nothing in it failed."},
        429: {"description": "Too many running; see Retry-After."},
        **STATES_DOWN,
    },
)
def retry_execution(
    ctx: Ctx, request: Request, response: Response, user: User, execution_id: ExecutionId
) -> schemas.ExecutionOut:
    """Start a failed, aborted or timed-out execution again, with the same inputs and options, as a new
    execution (its `retry_of` names this one; this one's `retried_by` lists it). A batch retries only its
    images that did not succeed. Its webhook, if it had one, follows the new execution too."""
    new = retry(ctx.service, user, execution_id)
    link = f"{base_url(request)}/image-ai-analysis/{new.execution_id}"
    response.headers["Location"] = link
    subscription = Webhooks(ctx.settings, ctx.storage).subscription(user, execution_id)
    if subscription is not None:
        subscribe_webhook(ctx, new, subscription["url"], subscription.get("events", []), link)
    return execution_out(ctx, request, user, ctx.service.view(new))
