"""Named analytics queries at 10 and at 10,000 executions spread over 30 days.

    python -m bench analytics [--sizes 10,10000] [--days 30] [--repeat 3] [--no-compact]

Each size gets its own local storage folder of analytics rows, written by the real writer
(``aiorch.analytics.records.write_row``: one Parquet file per execution, as RecordResult writes
them), with start times spread evenly over the last ``--days`` days. Each named query is then
answered the way the API answers it: a fresh local runner per request (``run_named_query``),
which compacts what is not compacted yet and reads the rows (a runner is kept while no row is
written, as the API process keeps it). The first answer after the writes pays for the
compaction of everything written so far (printed on its own). Then two times per query: the
median of ``--repeat`` answers with nothing written in between ("unchanged"), and the median of
``--repeat`` answers each right after one more execution's row was written ("after a write":
that row's compaction and a reload of the table, what a live system pays). ``--no-compact``
answers over the small files as they were written (the layout before compaction): the before.

Goals: under 1 s per query at 10,000 executions, and under 2x its time at 10.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

GOAL_SECONDS = 1.0
GOAL_RATIO = 2.0
OPERATIONS = ["upscale", "denoise", "inpaint"]
ERRORS = ["ImageTooLarge", "GpuUnavailable", "JobFailed", "States.Timeout"]


def write_history(root: Path, executions: int, days: int, seed: int = 7) -> None:
    from aiorch.analytics.records import AnalyticsRow, write_row
    from aiorch.ids import new_id
    from aiorch.storage import LocalStorage

    storage = LocalStorage(root)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for i in range(executions):
        started = now - timedelta(days=days) * (i + 0.5) / executions
        failed = rng.random() < 0.1
        write_row(
            storage,
            AnalyticsRow(
                execution_id=new_id(),
                user_hash=f"{rng.randrange(100):064x}",
                operation=rng.choice(OPERATIONS),
                model="RealESRGAN_x4plus",
                device=rng.choice(["cuda", "cpu"]),
                precision="fp16",
                input_width=512,
                input_height=512,
                job_ms=rng.randrange(500, 20_000),
                model_ms=rng.randrange(100, 10_000),
                total_ms=rng.randrange(1_000, 30_000),
                status="FAILED" if failed else "SUCCEEDED",
                error_type=rng.choice(ERRORS) if failed else None,
                estimated_cost_usd=0.001,
                started_at=started,
                finished_at=started + timedelta(seconds=20),
            ),
        )


def answer_seconds(name: str, root: Path, compact: bool) -> float:
    from aiorch.analytics import service
    from aiorch.settings import Settings

    settings = Settings(storage_url=f"file://{root}", analytics_compaction=compact)
    started = time.perf_counter()
    service.run_named_query(name, settings)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench analytics", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,10000")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-compact", action="store_true", help="answer over the files as written (before)")
    args = parser.parse_args(argv)
    from aiorch.analytics.queries import load_queries

    sizes = [int(s) for s in args.sizes.split(",")]
    names = sorted(load_queries())
    compact = not args.no_compact
    times: dict[tuple[str, int], float] = {}
    after_write: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory(prefix="aiorch-bench-analytics-") as tmp:
        for size in sizes:
            root = Path(tmp) / str(size)
            started = time.perf_counter()
            write_history(root, size, args.days)
            print(f"{size} executions written over {args.days} days in {time.perf_counter() - started:.1f} s")
            first = answer_seconds(names[0], root, compact)
            print(f"  first answer ({names[0]}, {'compacting' if compact else 'no compaction'}): {first:.2f} s")
            for name in names:
                times[name, size] = statistics.median(answer_seconds(name, root, compact) for _ in range(args.repeat))
                measured = []
                for _ in range(args.repeat):
                    write_history(root, 1, 1, seed=len(measured))
                    measured.append(answer_seconds(name, root, compact))
                after_write[name, size] = statistics.median(measured)
    small, large = min(sizes), max(sizes)
    for title, measured in (("unchanged", times), ("after a write", after_write)):
        print(f"\n{title:<46}" + "".join(f"{s:>10}" for s in sizes) + f"{'ratio':>8}")
        ok = True
        for name in names:
            ratio = measured[name, large] / measured[name, small]
            ok &= measured[name, large] < GOAL_SECONDS and ratio < GOAL_RATIO
            print(f"{name:<46}" + "".join(f"{measured[name, s]:>9.3f}s" for s in sizes) + f"{ratio:>7.2f}x")
        print(f"goal ({title}): under {GOAL_SECONDS:.0f} s at {large} and under {GOAL_RATIO:.0f}x the time at {small}: "
              f"{'met' if ok else 'NOT met'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
