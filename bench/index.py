"""The execution index at 10, 1,000 and 10,000 records of one user.

    python -m bench index [--sizes 10,1000,10000] [--repeat 30]

SQLite (the local index): the median latency of a history page (AnalysisService.list_executions,
20 per page) and of a submit (AnalysisService.submit with a stub Step Functions client, so only
the service and the index are timed), and the ratio largest:smallest.
DynamoDB on moto: the requests made and the items read (Query ScannedCount, GetItem hits) per page
and per submit. moto's own latency grows with the table, so its time is not the measure; what a
page and a submit cost in DynamoDB is requests and items read, and those must stay constant.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

USER = "bench-user"


class StubStates:
    """Step Functions as far as submit needs it: accepts every start."""

    def start_execution(self, **kwargs: Any) -> dict[str, str]:
        return {"executionArn": f"arn:aws:states:us-east-1:123456789012:execution:bench:{kwargs['name']}"}


def _fill(index: Any, count: int) -> None:
    """``count`` finished executions of one user, written in bulk (the fill is not what is measured)."""
    from aiorch.contracts import ExecutionRecord, ExecutionStatus
    from aiorch.ids import new_id
    from aiorch.index.sqlite import SqliteIndex

    records = [
        ExecutionRecord(
            execution_id=new_id(),
            user=USER,
            operation="upscale",
            input_key=f"uploads/{USER}/u/original.png",
            status=ExecutionStatus.SUCCEEDED,
        )
        for _ in range(count)
    ]
    if isinstance(index, SqliteIndex):
        with index._write() as db:
            for record in records:
                SqliteIndex._insert(db, record)
    else:
        from aiorch.index.dynamodb import _record_item

        for start in range(0, len(records), 25):
            batch = [{"PutRequest": {"Item": _record_item(r)}} for r in records[start : start + 25]]
            index.client.batch_write_item(RequestItems={index.table: batch})


def _service(settings: Any) -> Any:
    from aiorch.analysis import AnalysisService
    from tests.conftest import encode, photo

    service = AnalysisService(settings, states_client=StubStates())
    return service, service.store_upload(USER, encode(photo(16))).key


def _end(service: Any, record: Any) -> None:
    from aiorch.contracts import ExecutionStatus

    # Ended at once (untimed), so the running limit never refuses the next timed submit.
    service.index.finalise(USER, record.execution_id, ExecutionStatus.SUCCEEDED, recorded_by="bench")


def _median_ms(call: Callable[[], Any], repeat: int, after: Callable[[Any], Any] = lambda _: None) -> float:
    after(call())  # warm: connections, caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
        after(result)
    return statistics.median(times) * 1000


def sqlite_case(count: int, repeat: int) -> dict[str, float]:
    from aiorch.index import open_index
    from aiorch.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        _fill(open_index(settings), count)
        service, key = _service(settings)
        page_ms = _median_ms(lambda: service.list_executions(USER, limit=20), repeat)
        submit_ms = _median_ms(lambda: service.submit(USER, "upscale", key), repeat, lambda r: _end(service, r))
        return {"page_ms": page_ms, "submit_ms": submit_ms}


class RequestCounter:
    """Counts DynamoDB requests and the items they read, from botocore's after-call events."""

    def __init__(self, client: Any) -> None:
        self.requests = 0
        self.items_read = 0
        client.meta.events.register("after-call.dynamodb", self._after)

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests += 1
        if "ScannedCount" in parsed:
            self.items_read += int(parsed["ScannedCount"])
        elif model.name == "GetItem" and parsed.get("Item"):
            self.items_read += 1

    def measure(self, call: Callable[[], Any]) -> tuple[int, int]:
        before = (self.requests, self.items_read)
        call()
        return self.requests - before[0], self.items_read - before[1]


def dynamodb_case(count: int) -> dict[str, int]:
    import boto3
    from moto import mock_aws

    from aiorch.index import open_index
    from aiorch.index.dynamodb import table_definition
    from aiorch.settings import Settings

    with mock_aws(), tempfile.TemporaryDirectory() as tmp:
        table = f"bench-{count}"
        boto3.client("dynamodb", region_name="us-east-1").create_table(**table_definition(table))
        settings = Settings(data_dir=Path(tmp), index_url=f"dynamodb://{table}", aws_region="us-east-1")
        index = open_index(settings)
        _fill(index, count)
        service, key = _service(settings)
        counter = RequestCounter(index.client)  # type: ignore[attr-defined]
        page_requests, page_items = counter.measure(lambda: service.list_executions(USER, limit=20))
        submit_requests, submit_items = counter.measure(lambda: service.submit(USER, "upscale", key))
        return {
            "page_requests": page_requests,
            "page_items_read": page_items,
            "submit_requests": submit_requests,
            "submit_items_read": submit_items,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench index", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    print(f"SQLite index (median of {args.repeat}; page = 20 records)")
    print(f"{'records':>8} {'page ms':>9} {'submit ms':>10}")
    local = {n: sqlite_case(n, args.repeat) for n in sizes}
    for n, case in local.items():
        print(f"{n:>8} {case['page_ms']:>9.2f} {case['submit_ms']:>10.2f}")
    # At the smallest size a page holds fewer records than 20, so that ratio also counts the records
    # returned; the ratio of the two largest sizes isolates the growth with the history's length.
    for low, high in sorted(
        {(sizes[0], sizes[-1]), (sizes[-2], sizes[-1])} if len(sizes) > 2 else {(sizes[0], sizes[-1])}
    ):
        small, large = local[low], local[high]
        print(
            f"ratio {high}:{low}  page {large['page_ms'] / small['page_ms']:.2f}x  "
            f"submit {large['submit_ms'] / small['submit_ms']:.2f}x"
        )

    print("\nDynamoDB index on moto (requests and items read; moto's time is not the measure)")
    print(f"{'records':>8} {'page req':>9} {'page items':>11} {'submit req':>11} {'submit items':>13}")
    for n in sizes:
        counts = dynamodb_case(n)
        print(
            f"{n:>8} {counts['page_requests']:>9} {counts['page_items_read']:>11} "
            f"{counts['submit_requests']:>11} {counts['submit_items_read']:>13}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
