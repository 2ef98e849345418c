"""Time upscale (ours vs upstream-style), denoise and inpaint; print a table and write JSON.

    python -m bench --device cpu                 # about a minute on two CPU cores
    python -m bench --device cuda --size 1024 --json out.json

Throughput is input megapixels per second. Peak GPU memory is
torch.cuda.max_memory_allocated per case; host memory is the process's peak
resident set size during the case (VmHWM, reset before each case where Linux allows).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def host_peak_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_host_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def test_image(size: int) -> np.ndarray:
    """A real photo (scikit-image's astronaut), resized to size x size, float32 RGB in [0, 1]."""
    import cv2
    from skimage import data

    photo = data.astronaut().astype(np.float32) / 255
    interpolation = cv2.INTER_AREA if size < photo.shape[0] else cv2.INTER_CUBIC
    return np.clip(cv2.resize(photo, (size, size), interpolation=interpolation), 0, 1)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        import torch

        self.args = args
        self.torch = torch
        self.results: dict[str, Any] = {
            "command": " ".join(sys.argv),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cases": [],
            "notes": [],
        }

    def note(self, text: str) -> None:
        print(f"note: {text}", flush=True)
        self.results["notes"].append(text)

    def sync(self, device: Any) -> None:
        if device.type == "cuda":
            self.torch.cuda.synchronize(device)

    def time_case(
        self,
        name: str,
        device: Any,
        pixels: int,
        call: Callable[[], Any],
        repeat: int,
        warmup: int,
        extra: dict | None = None,
    ) -> dict | None:
        torch = self.torch
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        reset_host_peak()
        try:
            for _ in range(warmup):
                call()
            self.sync(device)
            seconds = []
            for _ in range(repeat):
                started = time.perf_counter()
                call()
                self.sync(device)
                seconds.append(time.perf_counter() - started)
        except Exception as error:  # a case that cannot run is reported, and the others still run
            self.note(f"{name} on {device}: failed: {type(error).__name__}: {error}")
            return None
        median = statistics.median(seconds)
        case = {
            "case": name,
            "device": str(device),
            "megapixels": pixels / 1e6,
            "seconds_median": median,
            "seconds_min": min(seconds),
            "repeat": repeat,
            "megapixels_per_s": pixels / 1e6 / median,
            "peak_gpu_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
            "peak_host_rss_mb": host_peak_rss_mb(),
            **(extra or {}),
        }
        self.results["cases"].append(case)
        gpu = f"{case['peak_gpu_mb']:8.0f} MB GPU" if case["peak_gpu_mb"] is not None else "       - GPU"
        print(
            f"{name:<34} {device!s:<7} {median * 1000:9.1f} ms  {case['megapixels_per_s']:8.4g} MP/s  "
            f"{gpu}  {case['peak_host_rss_mb'] or 0:7.0f} MB host",
            flush=True,
        )
        self.write()
        return case

    def write(self) -> None:
        if self.args.json:
            Path(self.args.json).write_text(json.dumps(self.results, indent=2))

    # --- upscale ----------------------------------------------------------------------------------

    def upscale(self, device: Any, size: int) -> None:
        from bench.baselines import upstream_tiled, whole_image
        from jobs import upscale
        from jobs.devices import describe_device

        args, torch = self.args, self.torch
        image = test_image(size)
        pixels = size * size
        repeat, warmup = (args.repeat, args.warmup)
        loaded = upscale._model(upscale.parse_options({"model": args.model}))
        self.results.setdefault("devices", {})[str(device)] = describe_device(device)
        self.results["model"] = {"name": loaded.name, "weights": loaded.weights, "sha256": loaded.sha256}

        # Upstream-style baselines first, on a separate fp16 (GPU) copy in the default layout.
        baseline_model = copy.deepcopy(loaded.module).to(device, memory_format=torch.contiguous_format)
        if device.type == "cuda":
            baseline_model = baseline_model.half()
        cudnn_benchmark = torch.backends.cudnn.benchmark if device.type == "cuda" else None
        cases = args.cases
        base = None
        if "tiled" in cases:
            base = self.time_case(
                "upstream-style tiled 256/pad 10",
                device,
                pixels,
                lambda: upstream_tiled(baseline_model, image, loaded.scale, device, tile=256, pad=10),
                repeat,
                warmup,
                {"cudnn_benchmark": cudnn_benchmark},
            )
        if "whole" in cases:
            self.time_case(
                "upstream-style whole image",
                device,
                pixels,
                lambda: whole_image(baseline_model, image, device),
                repeat,
                warmup,
                {"cudnn_benchmark": cudnn_benchmark},
            )
        baseline_model = None  # free its GPU memory before our runs
        if device.type == "cuda":
            torch.cuda.empty_cache()

        configs: list[dict[str, Any]] = [{}] if "ours" in cases else []
        if "variants" in cases and device.type == "cuda":
            configs += [{"tile": 256, "batch": 4}, {"tile": 384, "batch": 2}, {"tile": 1024}]
        if "compile" in cases:
            configs.append({"compile": True})
        for config in configs:
            options = {"model": args.model, "device": str(device), **config}
            label = "ours " + (" ".join(f"{k}={v}" for k, v in config.items()) or "default")
            holder: dict[str, Any] = {}

            def call(options: dict = options, holder: dict = holder) -> None:
                holder["result"] = upscale.run(image, options)

            case = self.time_case(label, device, pixels, call, repeat, warmup, {"options": options})
            if case and "result" in holder:
                meta = holder["result"].metadata
                case.update(
                    {k: meta[k] for k in ("tile", "tiles", "batch", "precision", "oom_retries", "fp32_retries")}
                )
                if base:
                    case["speedup_vs_upstream_tiled"] = base["seconds_median"] / case["seconds_median"]
                    print(f"{'':<34} speedup vs upstream-style tiled: {case['speedup_vs_upstream_tiled']:.2f}x")
                self.write()
            holder.clear()

    # --- denoise and inpaint (the other jobs' operations, when present) -----------------------------

    def other_operations(self, device: Any, size: int) -> None:
        image = test_image(size)
        noisy = np.clip(image + np.random.default_rng(0).normal(0, 25 / 255, image.shape), 0, 1).astype(np.float32)
        try:
            from jobs import denoise
        except Exception as error:
            self.note(f"denoise skipped: jobs.denoise does not import here ({type(error).__name__}: {error})")
        else:
            self.time_case(
                "denoise (default method)",
                device,
                size * size,
                lambda: denoise.run(noisy, {"device": str(device), "sigma": 25}, lambda *a: None),
                1,
                0,
            )
        try:
            from jobs import inpaint
        except Exception as error:
            self.note(f"inpaint skipped: jobs.inpaint does not import here ({type(error).__name__}: {error})")
        else:
            mask = np.zeros(image.shape[:2], dtype=bool)
            mask[size // 3 : size // 3 + max(4, size // 10), size // 4 : size * 3 // 4] = True
            self.time_case(
                "inpaint (default filler)",
                device,
                size * size,
                lambda: inpaint.run(image, {"device": str(device)}, lambda *a: None, mask=mask),
                1,
                0,
            )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["index"]:  # python -m bench index: the execution index (bench/index.py)
        from bench.index import main as index_main

        return index_main(argv[1:])
    if argv[:1] == ["batches"]:  # python -m bench batches: one batch request vs one request per image
        from bench.batches import main as batches_main

        return batches_main(argv[1:])
    if argv[:1] == ["jobs"]:  # python -m bench jobs: warm vs cold local job fixed costs (bench/fixed_costs.py)
        from bench.fixed_costs import main as jobs_main

        return jobs_main(argv[1:])
    if argv[:1] == ["ncnn"]:  # python -m bench ncnn: CPU x4plus, ours vs the ncnn engine (bench/ncnn_compare.py)
        from bench.ncnn_compare import main as ncnn_main

        return ncnn_main(argv[1:])
    if argv[:1] == ["analytics"]:  # python -m bench analytics: named queries at 10 and 10,000 executions
        from bench.analytics import main as analytics_main

        return analytics_main(argv[1:])
    if argv[:1] == ["inpaint"]:  # python -m bench inpaint: text removal without weights (bench/inpaint.py)
        from bench.inpaint import main as inpaint_main

        return inpaint_main(argv[1:])
    if argv[:1] == ["denoise"]:  # python -m bench denoise: each method's seconds and PSNR at 1024² (bench/denoise.py)
        from bench.denoise import main as denoise_main

        return denoise_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="cpu | cuda | auto (auto: CPU, plus the GPU if present)")
    parser.add_argument("--size", type=int, default=None, help="upscale input side (default: 1024 GPU, 48 CPU)")
    parser.add_argument("--aux-size", type=int, default=128, help="denoise/inpaint input side (default 128)")
    parser.add_argument("--model", default="realesrgan-x4plus")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per case (default: 5 GPU, 1 CPU)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs first (default: 2 GPU, 0 CPU)")
    parser.add_argument(
        "--cases",
        default="tiled,whole,ours,variants,others",
        help="comma-separated: tiled (upstream-style tiled baseline), whole (whole-image baseline), ours "
        "(our default), variants (other tile/batch settings, GPU only), compile (ours with torch.compile, "
        "slow to start), others (denoise and inpaint). Default: all but compile.",
    )
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    args.cases = {case.strip() for case in args.cases.split(",") if case.strip()}

    import torch

    from jobs.devices import pick_device

    if args.device == "auto":
        devices = [torch.device("cpu")] + ([pick_device("cuda")] if torch.cuda.is_available() else [])
    else:
        devices = [pick_device(args.device)]
    bench = Bench(args)
    for device in devices:
        gpu = device.type == "cuda"
        size = args.size or (1024 if gpu else 48)
        args.repeat = args.repeat if args.repeat is not None else (5 if gpu else 1)
        args.warmup = args.warmup if args.warmup is not None else (2 if gpu else 0)
        print(f"== {device}: upscale {size}x{size} ({args.model}), repeat {args.repeat}, warmup {args.warmup}")
        bench.upscale(device, size)
        if "others" in args.cases:
            bench.other_operations(device, args.aux_size)
        args.repeat = args.warmup = None if args.device == "auto" else args.repeat
    bench.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
