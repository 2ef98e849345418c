"""Webhooks (aiorch/webhooks.py): the user's signing secret, and each execution's delivery attempts."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from pydantic import BaseModel, Field

from aiorch.analysis import NotFoundError
from aiorch.contracts import ExecutionRecord
from aiorch.webhooks import SecretStore, WebhookRefused, Webhooks, on_recorded
from lambdas.api.context import UNAUTHORIZED, ApiContext, Ctx, ExecutionId, User
from lambdas.api.problems import Problem

router = APIRouter(tags=["webhooks"], responses=UNAUTHORIZED)


class WebhookSecretOut(BaseModel):
    secret: str = Field(description="whsec_ + base64: the key of each webhook-signature (Standard Webhooks).")


class WebhookDeliveryOut(BaseModel):
    webhook_id: str
    event: str
    attempt: int
    at: str
    status_code: int | None = None
    error: str | None = None
    outcome: str | None = Field(default=None, description="delivered, will retry or gave up.")
    next_attempt_at: str | None = None


class WebhookDeliveriesOut(BaseModel):
    execution_id: str
    deliveries: list[WebhookDeliveryOut]


def webhook_policy(ctx: ApiContext, url: str) -> None:
    """Refuse (422) a URL the webhook policy does not allow: the request is well formed, but its URL's
    address cannot be used (private, link-local, not https), which no JSON schema can say."""
    try:
        Webhooks(ctx.settings, ctx.storage).check(url)
    except WebhookRefused as exc:
        raise Problem(422, str(exc)) from None


def subscribe_webhook(ctx: ApiContext, record: ExecutionRecord, url: str, events: Iterable[str], link: str) -> None:
    hooks = Webhooks(ctx.settings, ctx.storage)
    hooks.subscribe(record.user, record.execution_id, url, events, {"self": link, "events": f"{link}/events"})
    now = ctx.service.index.get(record.user, record.execution_id)
    if now is not None and now.status.is_final:  # it ended before the subscription was kept
        on_recorded(ctx.settings, ctx.storage, now)


@router.get("/webhooks/secret", response_model=WebhookSecretOut)
def webhook_secret(ctx: Ctx, user: User) -> WebhookSecretOut:
    """Your webhook signing secret (created on first read)."""
    secret = SecretStore(ctx.settings, ctx.storage).get(user)
    assert secret is not None  # get creates it when there is none
    return WebhookSecretOut(secret=secret)


@router.post("/webhooks/secret/rotate", response_model=WebhookSecretOut)
def rotate_webhook_secret(ctx: Ctx, user: User) -> WebhookSecretOut:
    """A new secret; deliveries from now on are signed with it."""
    return WebhookSecretOut(secret=SecretStore(ctx.settings, ctx.storage).rotate(user))


@router.get(
    "/image-ai-analysis/{execution_id}/webhook-deliveries",
    response_model=WebhookDeliveriesOut,
    responses={404: {}},
)
def webhook_deliveries(ctx: Ctx, user: User, execution_id: ExecutionId) -> WebhookDeliveriesOut:
    """Each attempt to deliver this execution's webhook events: when, the answer's status code, the error."""
    if ctx.service.index.get(user, execution_id) is None:  # another user's looks exactly like a missing one
        raise NotFoundError(f"no execution {execution_id!r}")
    deliveries = Webhooks(ctx.settings, ctx.storage).deliveries(user, execution_id)
    return WebhookDeliveriesOut.model_validate({"execution_id": execution_id, "deliveries": deliveries})
