"""The analysts' named queries: DuckDB locally, Athena in AWS, in two steps either way.

A query is started (202 with its id) and then polled until it answers. API Gateway stops
waiting for the API after 29 s ("Amazon API Gateway quotas", integration timeout), and an
Athena query can take longer, so no request waits for one. Locally DuckDB answers on the
first poll, through the same addresses.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from aiorch.analytics.errors import AnalyticsQueryError, UnknownQueryRun
from aiorch.analytics.queries import UnknownQuery
from aiorch.analytics.service import list_named_queries, named_query_answer, start_named_query
from lambdas.api import schemas
from lambdas.api.context import UNAUTHORIZED, Analyst, Ctx
from lambdas.api.problems import Problem

router = APIRouter(tags=["image-ai-analysis"], responses=UNAUTHORIZED)

QueryName = Annotated[str, PathParam(pattern=r"^[a-z0-9_]{1,64}$")]
QueryId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9-]{1,80}$")]


def run_url(name: str, query_id: str) -> str:
    return f"/analytics/queries/{name}/runs/{query_id}"


@router.get("/analytics/queries", response_model=schemas.NamedQueries, tags=["analytics"], responses={403: {}})
def analytics_queries(_: Analyst) -> dict[str, Any]:
    """The analysts' named queries (analytics/queries/*.sql)."""
    return {"queries": list_named_queries()}


@router.post(
    "/analytics/queries/{name}/runs",
    status_code=202,
    response_model=schemas.QueryRun,
    tags=["analytics"],
    responses={403: {}, 404: {}},
)
def start_query(ctx: Ctx, _: Analyst, name: QueryName) -> dict[str, Any]:
    """Start one named query; poll ``answer_url`` for its answer."""
    try:
        query_id = start_named_query(name, ctx.settings)
    except UnknownQuery as exc:
        raise Problem(404, f"there is no named query {name!r}") from exc
    except AnalyticsQueryError as exc:
        raise Problem(500, f"the query {name!r} could not be started: {exc}") from exc
    return {"name": name, "query_id": query_id, "state": "RUNNING", "answer_url": run_url(name, query_id)}


@router.get(
    "/analytics/queries/{name}/runs/{query_id}",
    response_model=schemas.QueryAnswer,
    tags=["analytics"],
    responses={202: {"model": schemas.QueryRun, "description": "Still running: poll again."}, 403: {}, 404: {}},
)
def query_answer(ctx: Ctx, _: Analyst, name: QueryName, query_id: QueryId) -> Any:
    """The answer of a started query (200), or 202 while it runs."""
    try:
        answer = named_query_answer(name, query_id, ctx.settings)
    except UnknownQuery as exc:
        raise Problem(404, f"there is no named query {name!r}") from exc
    except UnknownQueryRun as exc:
        raise Problem(404, str(exc)) from exc
    except AnalyticsQueryError as exc:
        # A named query that cannot be answered is our fault, not the caller's: say why.
        raise Problem(500, f"the query {name!r} could not be answered: {exc}") from exc
    if answer is None:
        running = {"name": name, "query_id": query_id, "state": "RUNNING", "answer_url": run_url(name, query_id)}
        return JSONResponse(running, status_code=202, headers={"Retry-After": "2"})
    return {"name": name, "query_id": query_id, "state": "SUCCEEDED", **answer}
