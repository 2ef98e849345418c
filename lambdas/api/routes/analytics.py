"""The analysts' named queries: DuckDB locally, Athena in AWS."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam

from aiorch.analytics.errors import AnalyticsQueryError
from aiorch.analytics.queries import UnknownQuery
from aiorch.analytics.service import list_named_queries, run_named_query
from lambdas.api import schemas
from lambdas.api.context import UNAUTHORIZED, Analyst, Ctx
from lambdas.api.problems import Problem

router = APIRouter(tags=["image-ai-analysis"], responses=UNAUTHORIZED)


@router.get("/analytics/queries", response_model=schemas.NamedQueries, tags=["analytics"], responses={403: {}})
def analytics_queries(_: Analyst) -> dict[str, Any]:
    """The analysts' named queries (analytics/queries/*.sql)."""
    return {"queries": list_named_queries()}


@router.get(
    "/analytics/queries/{name}",
    response_model=schemas.QueryAnswer,
    tags=["analytics"],
    responses={403: {}, 404: {}},
)
def analytics_answer(
    ctx: Ctx, _: Analyst, name: Annotated[str, PathParam(pattern=r"^[a-z0-9_]{1,64}$")]
) -> dict[str, Any]:
    """Answer one named query: DuckDB over the local records, or Athena in AWS."""
    try:
        answer = run_named_query(name, ctx.settings)
    except UnknownQuery as exc:
        raise Problem(404, f"there is no named query {name!r}") from exc
    except AnalyticsQueryError as exc:
        # A named query that cannot be answered is our fault, not the caller's: say why.
        raise Problem(500, f"the query {name!r} could not be answered: {exc}") from exc
    return {"name": name, **answer}
