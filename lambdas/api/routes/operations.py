"""The operations and their user options, with limits and defaults: the web form is drawn from this."""

from __future__ import annotations

from fastapi import APIRouter

from aiorch.operations import OperationOut, served_operations
from lambdas.api.context import UNAUTHORIZED, Ctx, User

router = APIRouter(tags=["operations"], responses=UNAUTHORIZED)


@router.get("/operations", response_model=list[OperationOut])
def list_operations(ctx: Ctx, user: User) -> list[OperationOut]:
    """Each operation's user options (type, range or choices, default, unit) and its input limits.

    Operator settings (weights, device, compile) are never served: a request naming one is refused.
    """
    return served_operations(ctx.settings)
