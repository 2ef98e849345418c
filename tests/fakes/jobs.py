"""A fake job CLI with the real job contract: ``python -m tests.fakes.jobs KIND --input URI
--output URI [--options JSON]``.

It writes progress.json while it "works", then result.txt and metadata.json (exit 0),
or error.json (exit 3). Options: ``sleep_s`` (work time), ``fail`` (always fail),
``fail_once`` (fail when no marker file exists yet, then succeed). It writes its pid
to ``<output>/pid`` so tests can check that the process is gone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from aiorch.contracts import JobKind
from tests.fakes import record_call


def _write(path: Path, data: dict[str, object]) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=[kind.value for kind in JobKind])  # every registered job
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--mask")
    parser.add_argument("--options", default="{}")
    args = parser.parse_args(argv)
    options = json.loads(args.options)
    out = Path(args.output.removeprefix("file://"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "pid").write_text(str(os.getpid()))
    started = time.time()
    record_call("job_started", job=args.kind, output=str(out), execution=os.environ.get("AIORCH_EXECUTION_ARN"))

    steps = 4
    for done in range(steps + 1):
        _write(out / "progress.json", {"stage": "fake work", "done": done, "total": steps})
        if done < steps:
            time.sleep(float(options.get("sleep_s", 0)) / steps)

    marker = out / "failed_once"
    if options.get("fail") or (options.get("fail_once") and not marker.exists()):
        marker.touch()
        _write(out / "error.json", {"type": "FakeJobFailed", "message": f"fake {args.kind} job failed as asked"})
        record_call("job_ended", job=args.kind, started=started, ok=False)
        print(f"fake {args.kind} job failed as asked", file=sys.stderr)
        return 3
    (out / "result.txt").write_text(f"fake {args.kind} result for {args.input}\n")
    _write(out / "metadata.json", {"model": "fallback: fake job (no image processing)", "kind": args.kind})
    record_call("job_ended", job=args.kind, started=started, ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
