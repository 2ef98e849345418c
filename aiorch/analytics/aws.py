"""Answer Athena SQL in AWS: start the query in the workgroup, poll it, read the rows.

The CLI waits (``run``); the web API starts (``start``) and lets the client poll (``poll``).

Athena returns every value as text; the column types in the result metadata turn them
back into JSON numbers and booleans, so the answer has the same shape as the local one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from aiorch.analytics.errors import AnalyticsQueryError, UnknownQueryRun
from aiorch.analytics.result import QueryResult

if TYPE_CHECKING:
    from aiorch.settings import Settings

INTEGER_TYPES = {"tinyint", "smallint", "integer", "int", "bigint"}
FLOAT_TYPES = {"double", "real", "float", "decimal"}
FINAL_STATES = {"SUCCEEDED", "FAILED", "CANCELLED"}


class AthenaQueryFailed(AnalyticsQueryError):
    """Athena ran the query and reported a failure (the message is Athena's reason)."""


def athena_value(text: str | None, athena_type: str) -> Any:
    if text is None:
        return None
    kind = athena_type.lower()
    if kind in INTEGER_TYPES:
        return int(text)
    if kind in FLOAT_TYPES:
        return text if text in {"NaN", "Infinity", "-Infinity"} else float(text)
    if kind == "boolean":
        return text == "true"
    return text


class AthenaRunner:
    def __init__(
        self,
        settings: Settings,
        *,
        client: Any = None,
        poll_interval_s: float = 0.5,
        timeout_s: float = 300.0,
    ) -> None:
        self.workgroup = settings.athena_workgroup
        self.database = settings.athena_database
        self.client = client or boto3.client("athena", region_name=settings.aws_region)
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s

    def start(self, sql: str) -> str:
        response = self.client.start_query_execution(
            QueryString=sql,
            WorkGroup=self.workgroup,
            QueryExecutionContext={"Database": self.database},
        )
        return str(response["QueryExecutionId"])

    def wait(self, query_id: str) -> None:
        deadline = time.monotonic() + self.timeout_s
        while True:
            status = self.client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
            state = status["State"]
            if state == "SUCCEEDED":
                return
            if state in FINAL_STATES:
                reason = status.get("StateChangeReason", "no reason given")
                raise AthenaQueryFailed(f"Athena query {query_id} {state.lower()}: {reason}")
            if time.monotonic() > deadline:
                self.client.stop_query_execution(QueryExecutionId=query_id)
                raise AthenaQueryFailed(f"Athena query {query_id} took longer than {self.timeout_s:.0f} s; stopped")
            time.sleep(self.poll_interval_s)

    def results(self, query_id: str) -> QueryResult:
        columns: list[str] = []
        types: list[str] = []
        rows: list[dict[str, Any]] = []
        first_page = True
        for page in self.client.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
            result_set = page["ResultSet"]
            if not columns:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [c["Name"] for c in info]
                types = [c.get("Type", "varchar") for c in info]
            page_rows = [[cell.get("VarCharValue") for cell in r.get("Data", [])] for r in result_set.get("Rows", [])]
            if first_page and page_rows and page_rows[0] == columns:
                page_rows = page_rows[1:]  # a SELECT's first row is the header
            first_page = False
            for values in page_rows:
                rows.append({c: athena_value(v, t) for c, v, t in zip(columns, values, types, strict=False)})
        return QueryResult(columns, rows)

    def run(self, sql: str) -> QueryResult:
        """Start, wait and read: for the CLI, which no gateway limit cuts short."""
        query_id = self.start(sql)
        self.wait(query_id)
        return self.results(query_id)

    def poll(self, query_id: str, sql: str) -> QueryResult | None:
        """One look at a started query: its rows when done, None while it runs; no waiting.

        The web API answers in two steps because API Gateway stops waiting after 29 s, less
        than a long Athena query takes. The query must be ``sql`` in this workgroup, so an id
        cannot read another query's results through a named query's address.
        """
        try:
            execution = self.client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "InvalidRequestException":
                raise
            raise UnknownQueryRun(f"there is no Athena query {query_id}") from exc
        if execution.get("WorkGroup", self.workgroup) != self.workgroup or execution.get("Query", sql).strip() != (
            sql.strip()
        ):
            raise UnknownQueryRun(f"Athena query {query_id} is not a run of this named query")
        status = execution["Status"]
        state = status["State"]
        if state == "SUCCEEDED":
            return self.results(query_id)
        if state in FINAL_STATES:
            reason = status.get("StateChangeReason", "no reason given")
            raise AthenaQueryFailed(f"Athena query {query_id} {state.lower()}: {reason}")
        return None
