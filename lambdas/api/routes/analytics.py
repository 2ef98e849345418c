"""The analysts' named queries: DuckDB locally, Athena in AWS, in two steps either way.

A query is started (202 with its id) and then polled until it answers. API Gateway stops
waiting for the API after 29 s ("Amazon API Gateway quotas", integration timeout), and an
Athena query can take longer, so no request waits for one. Locally DuckDB answers on the
first poll, through the same addresses.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from aiorch.analytics.errors import AnalyticsQueryError, UnknownQueryRun
from aiorch.analytics.queries import UnknownQuery
from aiorch.analytics.service import list_named_queries, named_query_answer, start_named_query
from aiorch.ratelimit import RateLimiter
from lambdas.api import schemas
from lambdas.api.context import UNAUTHORIZED, Analyst, Ctx
from lambdas.api.problems import Problem

router = APIRouter(tags=["analytics"], responses=UNAUTHORIZED)


def run_limiter(request: Request, per_minute: int) -> RateLimiter:
    """The app's own limiter of query runs (one window per user), made on first use."""
    state = request.app.state
    if getattr(state, "analytics_runs", None) is None:
        state.analytics_runs = RateLimiter(per_minute, 60.0)
    limiter: RateLimiter = state.analytics_runs
    return limiter


QueryName = Annotated[str, PathParam(pattern=r"^[a-z0-9_]{1,64}$")]
QueryId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9-]{1,80}$")]


def run_url(name: str, query_id: str) -> str:
    return f"/analytics/queries/{name}/runs/{query_id}"


def running(name: str, query_id: str) -> schemas.QueryRun:
    return schemas.QueryRun(name=name, query_id=query_id, state="RUNNING", answer_url=run_url(name, query_id))


@router.get("/analytics/queries", response_model=schemas.NamedQueries, responses={403: {}})
def analytics_queries(_: Analyst) -> schemas.NamedQueries:
    """The analysts' named queries (analytics/queries/*.sql)."""
    return schemas.NamedQueries.model_validate({"queries": list_named_queries()})


@router.post(
    "/analytics/queries/{name}/runs",
    status_code=202,
    response_model=schemas.QueryRun,
    responses={403: {}, 404: {}, 429: {"description": "Too many runs this minute (Retry-After says when)."}},
)
def start_query(ctx: Ctx, request: Request, analyst: Analyst, name: QueryName) -> schemas.QueryRun:
    """Start one named query; poll ``answer_url`` for its answer."""
    wait_s = run_limiter(request, ctx.settings.analytics_runs_per_minute).acquire(analyst.user)
    if wait_s > 0:
        raise Problem(
            429,
            f"you have started {ctx.settings.analytics_runs_per_minute} queries in the last minute; "
            f"try again in {math.ceil(wait_s)} s",
            headers={"Retry-After": str(math.ceil(wait_s))},
        )
    try:
        query_id = start_named_query(name, ctx.settings)
    except UnknownQuery as exc:
        raise Problem(404, f"there is no named query {name!r}") from exc
    except AnalyticsQueryError as exc:
        raise Problem(500, f"the query {name!r} could not be started: {exc}") from exc
    return running(name, query_id)


@router.get(
    "/analytics/queries/{name}/runs/{query_id}",
    response_model=schemas.QueryAnswer,
    responses={202: {"model": schemas.QueryRun, "description": "Still running: poll again."}, 403: {}, 404: {}},
)
def query_answer(ctx: Ctx, _: Analyst, name: QueryName, query_id: QueryId) -> schemas.QueryAnswer | JSONResponse:
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
        still = running(name, query_id).model_dump(mode="json")
        return JSONResponse(still, status_code=202, headers={"Retry-After": "2"})
    return schemas.QueryAnswer(name=name, query_id=query_id, state="SUCCEEDED", **answer)
