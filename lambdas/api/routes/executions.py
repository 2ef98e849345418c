"""Executions: submit, list, status, cancel, delete, events. Each route calls ``AnalysisService``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from aiorch import keys
from aiorch.analysis.errors import Unprocessable
from aiorch.fields import shown
from lambdas.api import etag, schemas
from lambdas.api.auth import OPERATORS_GROUP, Principal, role_refusal
from lambdas.api.context import (
    NOT_JSON,
    STATES_DOWN,
    STORAGE_FULL,
    UNAUTHORIZED,
    Ctx,
    ExecutionId,
    JsonBody,
    User,
    base_url,
    current_principal,
    execution_out,
)
from lambdas.api.problems import Problem
from lambdas.api.routes.webhooks import subscribe_webhook, webhook_policy

router = APIRouter(tags=["analyses"], responses=UNAUTHORIZED)


@router.post(
    "/image-ai-analysis",
    status_code=202,
    response_model=schemas.SubmittedOut,
    dependencies=[JsonBody],
    responses={
        202: {"headers": {"Location": {"description": "The execution's status.", "schema": {"type": "string"}}}},
        400: {"description": "A bad option or value (the problem names it), or a body that is not UTF-8 JSON."},
        404: {"description": "No such upload or mask among yours."},
        409: {"description": "The Idempotency-Key was used for another request."},
        422: {
            "description": "Well formed but not doable: a key that is no upload's image (its name.json, say), "
            "a mask for an operation that takes none, a model not installed where the jobs run."
        },
        429: {"description": "Too many running; see Retry-After."},
        **NOT_JSON,
        **STATES_DOWN,
        **STORAGE_FULL,
    },
)
def submit(
    ctx: Ctx,
    request: Request,
    response: Response,
    user: User,
    body: schemas.AnalysisIn,
    idempotency_key: Annotated[
        str | None,
        Header(pattern=schemas.ID_PATTERN, description="The same key returns the same execution."),
    ] = None,
) -> schemas.SubmittedOut:
    if body.webhook is not None:
        webhook_policy(ctx, body.webhook.url)  # 400 before anything starts
    refuse_keys_that_are_no_images(user, body)
    record = ctx.service.submit(
        user, body.operation, body.upload, body.mask, body.options, idempotency_key, upload_keys=body.uploads
    )
    link = f"{base_url(request)}/image-ai-analysis/{record.execution_id}"
    response.headers["Location"] = link
    if body.webhook is not None:
        subscribe_webhook(ctx, record, body.webhook.url, body.webhook.events, link)
    return schemas.SubmittedOut(
        execution_id=record.execution_id,
        status=str(record.status),
        operation=str(record.operation),
        created_at=record.created_at.isoformat(),
        links={"self": link, "events": f"{link}/events"},
    )


def refuse_keys_that_are_no_images(user: str, body: schemas.AnalysisIn) -> None:
    """An upload's own files (its name.json) exist and are the user's, so the service would accept them
    and ValidateInput fail them later, where the user learns it only by polling: refused here by form.
    A key no upload of the user's can have (too long, a control character, outside their prefix) is
    left to the service's 404, the answer for any key that is not theirs."""
    images: list[str | None] = list(body.uploads) if body.uploads else [body.upload]
    named = [("upload", key) for key in images] + [("mask", body.mask)]
    for what, key in named:
        if key is not None and keys.is_under_user(key, user) and (problem := keys.upload_image_problem(key)):
            raise Unprocessable(f"the {what} {shown(key)} is not an uploaded image: {problem}")


@router.get("/image-ai-analysis", response_model=schemas.ExecutionPage)
def list_executions(
    ctx: Ctx,
    request: Request,
    user: User,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> schemas.ExecutionPage:
    """The user's executions, newest first."""
    views, next_cursor = ctx.service.list_executions(user, limit=limit, cursor=cursor)
    return schemas.ExecutionPage(items=[execution_out(ctx, request, user, v) for v in views], next_cursor=next_cursor)


@router.get(
    "/image-ai-analysis/{execution_id}", response_model=schemas.ExecutionOut, responses={404: {}, **STATES_DOWN}
)
def get_execution(
    ctx: Ctx, request: Request, response: Response, user: User, execution_id: ExecutionId
) -> schemas.ExecutionOut | Response:
    # From the index and the job's progress.json. A weak ETag and Cache-Control: no-cache; If-None-Match
    # with the same tag answers 304 with no body (lambdas/api/etag.py). (A comment, not a docstring: the
    # docstring would change the served OpenAPI document the front end's types are generated from.)
    view = ctx.service.get_status(user, execution_id)
    tag = etag.view_etag(view)
    if etag.matches(request, tag):
        return etag.not_modified(tag)
    etag.tag(response, tag)
    return execution_out(ctx, request, user, view)


@router.post(
    "/image-ai-analysis/{execution_id}/cancel",
    response_model=schemas.ExecutionOut,
    responses={404: {}, **STATES_DOWN},
)
def cancel_execution(ctx: Ctx, request: Request, user: User, execution_id: ExecutionId) -> schemas.ExecutionOut:
    """Cancel: stop the execution and its job. It stays in the history as ABORTED (or as it ended, if it
    ended first), and GET keeps answering it; DELETE removes it."""
    return execution_out(ctx, request, user, ctx.service.cancel(user, execution_id))


@router.delete(
    "/image-ai-analysis/{execution_id}",
    status_code=204,
    response_class=Response,
    responses={404: {}, 409: {"description": "Still running: cancel it first."}},
)
def delete_execution(ctx: Ctx, user: User, execution_id: ExecutionId) -> Response:
    """Delete an ended execution from the history, with its results; GET answers 404 from then on. The
    upload stays (another execution may use it); the anonymous analytics row stays for the analysts."""
    ctx.service.delete(user, execution_id)
    return Response(status_code=204)


def current_operator(principal: Principal = Depends(current_principal)) -> str:
    """The Ops view (the workflow's inner workings) is for the operators group; the local user is one."""
    refused = role_refusal(principal, OPERATORS_GROUP, "Ops", "operators")
    if refused:
        raise Problem(403, refused)
    return principal.user


@router.get(
    "/image-ai-analysis/{execution_id}/events",
    response_model=schemas.EventsOut,
    tags=["ops"],
    response_model_exclude_unset=True,  # each event keeps only the details Step Functions gave it
    responses={
        403: {"description": "Not in the operators group."},
        404: {"description": "No such execution, or its history is no longer kept."},
        **STATES_DOWN,
    },
)
def execution_events(
    ctx: Ctx, execution_id: ExecutionId, user: Annotated[str, Depends(current_operator)]
) -> schemas.EventsOut:
    """The execution's state-by-state history (for the Ops page, operators only)."""
    events = [schemas.HistoryEventOut.model_validate(e) for e in ctx.service.history(user, execution_id)]
    return schemas.EventsOut(execution_id=execution_id, events=events)
