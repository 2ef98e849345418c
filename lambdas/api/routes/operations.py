"""The operations and their user options, with limits and defaults: the web form is drawn from this.

Public like health: the schema is the same for everyone and the form is drawn before sign-in finishes.
"""

from __future__ import annotations

from fastapi import APIRouter

from aiorch.operations import OperationOut, served_operations
from lambdas.api.context import Ctx

router = APIRouter(tags=["operations"])


@router.get("/operations", response_model=list[OperationOut])
def list_operations(ctx: Ctx) -> list[OperationOut]:
    """Each operation's user options (type, range or choices, default, unit) and its input limits.

    Operator settings (weights, device, compile) are never served: a request naming one is refused.
    """
    return served_operations(ctx.settings)
