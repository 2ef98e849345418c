"""Many images in one request vs one request each: ``python -m bench batches``.

The figure: 20 images of 64 px with ``realesr-animevideov3``, sent as ONE batch request (one
execution, the state machine's Map over chunks, one job per chunk) and as 20 requests, over the real
local stack (the local states service, the real Lambdas and the real job CLI), on the same warm job
workers, then with cold job processes. Each total runs from the first submit to the last execution
recorded. Goal: the batch at least 5x faster than the 20 requests on the warm workers.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _photos(count: int, size: int) -> list[bytes]:
    from PIL import Image
    from skimage import data

    base = Image.fromarray(data.astronaut())
    out = []
    for index in range(count):  # each image its own crop, so no two jobs do the same work
        crop = base.crop((index * 8, index * 4, index * 8 + 256, index * 4 + 256)).resize((size, size))
        buffer = io.BytesIO()
        crop.save(buffer, "PNG")
        out.append(buffer.getvalue())
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(service: Any, user: str, ids: list[str], timeout_s: float) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        # Final in the index (the recorder has run), not only in Step Functions; the views read after.
        if all(service.index.get(user, i).status.is_final for i in ids):
            return [service.get_status(user, i) for i in ids]
        if time.monotonic() > deadline:
            raise TimeoutError(f"not all ended after {timeout_s} s")
        time.sleep(0.2)


def _model_seconds(service: Any, user: str, execution_id: str) -> float:
    """The model time (``timings_s.model``) summed over a recorded batch's images."""
    total = 0.0
    for outcome in service.index.get(user, execution_id).images:
        for key in outcome.metadata_keys:
            total += float(service.storage.get_json(key).get("timings_s", {}).get("model", 0.0))
    return total


def measure(workers: bool, count: int, size: int, options: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """One mode (warm workers or cold processes): the batch, then the same images as single requests."""
    from aiorch.analysis import AnalysisService
    from aiorch.settings import Settings
    from workflows.local.client import ensure_service, stop_service

    with tempfile.TemporaryDirectory(prefix="bench-batches-") as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            states_port=_free_port(),
            job_workers=workers,
            max_running_executions_per_user=count,
        )
        ensure_service(settings, timeout_s=120)
        try:
            service = AnalysisService(settings)
            user = settings.local_user
            keys = [service.store_upload(user, data).key for data in _photos(count, size)]
            # Untimed first, one job per slot at once: every worker imports the model's libraries and loads
            # the weights before either run (else the first run measured pays a second worker's load).
            warm_up = [service.submit(user, "upscale", key, options=options).execution_id for key in keys[:2]]
            _wait(service, user, warm_up, timeout_s)

            started = time.perf_counter()
            batch = service.submit(user, "upscale", None, options=options, upload_keys=keys)
            (view,) = _wait(service, user, [batch.execution_id], timeout_s)
            batch_s = time.perf_counter() - started
            succeeded = sum(i.status == "SUCCEEDED" for i in view.images)
            model_s = _model_seconds(service, user, batch.execution_id)

            started = time.perf_counter()
            singles = [service.submit(user, "upscale", key, options=options).execution_id for key in keys]
            views = _wait(service, user, singles, timeout_s)
            singles_s = time.perf_counter() - started
            singles_ok = sum(v.status.value == "SUCCEEDED" for v in views)
            errors = sorted({f"{v.error.type}: {v.error.message}" for v in views if v.error})
            report = service.state_report(service.index.get(user, batch.execution_id))
            states = {
                run.name: round((run.exited_at - run.entered_at).total_seconds(), 2)
                for run in report.states
                if run.exited_at
            }
        finally:
            stop_service(settings)
    return {
        "workers": "warm" if workers else "cold",
        "batch_s": round(batch_s, 2),
        "batch_succeeded": succeeded,
        "singles_s": round(singles_s, 2),
        "singles_succeeded": singles_ok,
        "ratio": round(singles_s / batch_s, 2),
        # The model work alone, spread over the slots: no batch of these images can take less, so
        # singles_s / batch_model_per_slot_s is the most any batching could gain on this machine.
        "batch_model_s": round(model_s, 2),
        "batch_model_per_slot_s": round(model_s / settings.job_slots, 2),
        "ratio_cap": round(singles_s / (model_s / settings.job_slots), 2) if model_s else None,
        "batch_states_s": states,
        "singles_errors": errors,
        "chunks": settings.batch_chunk_images,
        "job_slots": settings.job_slots,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench batches", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--modes", default="warm,cold", help="warm, cold or both (comma-separated)")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    options = {"model": "realesr-animevideov3"}
    print(f"{args.count} images of {args.size}x{args.size}, upscale {options}, local stack", flush=True)
    print(f"{'workers':>7} | {'1 batch request':>15} | {f'{args.count} requests':>12} | {'ratio':>6}")
    results = []
    for mode in args.modes.split(","):
        figures = measure(mode == "warm", args.count, args.size, options, args.timeout)
        results.append(figures)
        print(
            f"{figures['workers']:>7} | {figures['batch_s']:>14.2f}s | {figures['singles_s']:>11.2f}s | "
            f"{figures['ratio']:>5.2f}x  (succeeded: {figures['batch_succeeded']} in the batch, "
            f"{figures['singles_succeeded']} single; {figures['job_slots']} job slots, "
            f"{figures['chunks']} images per chunk)",
            flush=True,
        )
        print(f"        the batch's states (s): {figures['batch_states_s']}", flush=True)
        print(
            f"        the batch's model work: {figures['batch_model_s']:.2f} s over its images, "
            f"{figures['batch_model_per_slot_s']:.2f} s a slot: no batch could be more than "
            f"{figures['ratio_cap']}x faster than the {args.count} requests here",
            flush=True,
        )
        for error in figures["singles_errors"]:
            print(f"        a single request failed: {error}", flush=True)
    warm = next((r for r in results if r["workers"] == "warm"), None)
    if warm is not None:
        print(f"goal (warm, at least 5x): {'met' if warm['ratio'] >= 5 else 'not met'} at {warm['ratio']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
