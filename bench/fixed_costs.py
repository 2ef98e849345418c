"""Fixed cost of a local job, warm worker vs cold process: ``python -m bench jobs``.

Each job goes through the local job runner (workflows/local/jobs.py), from submit to
its final status, the way the states service runs it. The fixed cost is that wall
time minus what the job itself timed (decode, model, encode in metadata.timings_s):
Python start, imports and model load for a cold job; the hand-over and the
runner's 0.2 s polling for a warm one. Goal: a second 32 px denoise on a warm worker
finishes within its model time + 0.5 s (the fixed costs paid once per worker, not per job).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _photo(path: Path, size: int) -> None:
    from PIL import Image
    from skimage import data

    Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.LANCZOS).save(path)


def _run(runner: Any, source: Path, out: Path, job: str, options: dict[str, Any], env: dict[str, str]) -> dict:
    from workflows.local.jobs import JobStatus

    command = [job, "--input", source.as_uri(), "--output", f"{out.as_uri()}/", "--options", json.dumps(options)]
    started = time.perf_counter()
    submitted = runner.submit(name=out.name, queue="q", definition="d", command=command, environment=env)
    while True:
        (described,) = runner.describe([submitted.job_id])
        if JobStatus(described["status"]).is_final:
            break
        time.sleep(0.01)
    wall = time.perf_counter() - started
    if described["status"] != "SUCCEEDED":
        raise RuntimeError(f"{job} job failed: {(out / 'error.json').read_text()}")
    timings = json.loads((out / "metadata.json").read_text())["timings_s"]
    inside = sum(v for k, v in timings.items() if k in ("decode", "model", "encode"))
    return {"wall_s": round(wall, 3), "model_s": timings["model"], "fixed_s": round(wall - inside, 3)}


def measure(
    job: str, size: int, options: dict[str, Any], runs: int, modes: tuple[str, ...] = ("cold", "warm")
) -> dict[str, list[dict]]:
    from aiorch.settings import Settings
    from workflows.local.jobs import JobRunner

    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        root = Path(tmp)
        source = root / "photo.png"
        _photo(source, size)
        env = {"AIORCH_DATA_DIR": str(root / "home")}
        for mode in modes:
            settings = Settings(data_dir=root / mode, job_slots=1, job_workers=mode == "warm")
            runner = JobRunner(settings)
            runner.start()
            try:
                if runner.workers is not None:  # as a service would be: workers warmed up before the first job
                    while not all(w.ready for w in runner.workers.workers if w.usable):
                        time.sleep(0.05)
                results[mode] = [_run(runner, source, root / mode / f"job{i}", job, options, env) for i in range(runs)]
            finally:
                runner.shutdown()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench jobs", description=__doc__.split("\n")[0])
    parser.add_argument("--job", default="denoise", choices=["denoise", "upscale"])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3, help="jobs in a row per mode (the first warm one loads models)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {}  # the defaults a web user gets
    results = measure(args.job, args.size, options, args.runs)
    print(f"{args.job} {args.size}x{args.size} {options or ''}, local job runner, one slot")
    print(f"{'job':>4} | {'cold wall':>9} {'cold fixed':>10} | {'warm wall':>9} {'warm fixed':>10} {'model':>7}")
    for index, (cold, warm) in enumerate(zip(results["cold"], results["warm"], strict=True), start=1):
        print(
            f"{index:>4} | {cold['wall_s']:>8.2f}s {cold['fixed_s']:>9.2f}s | "
            f"{warm['wall_s']:>8.2f}s {warm['fixed_s']:>9.2f}s {warm['model_s']:>6.3f}s"
        )
    second = results["warm"][1] if args.runs > 1 else results["warm"][0]
    goal = second["model_s"] + 0.5
    print(
        f"second warm job: {second['wall_s']:.2f} s vs model + 0.5 s = {goal:.2f} s: "
        f"{'meets' if second['wall_s'] <= goal else 'misses'} the goal; "
        f"cold/warm wall ratio {results['cold'][-1]['wall_s'] / second['wall_s']:.1f}x"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
