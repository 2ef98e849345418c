"""python -m bench denoise: each classical denoise method through the job's own code (jobs.denoise.run, tiles
included) on scikit-image's astronaut with Gaussian noise; seconds and PSNR against the clean photo.

    python -m bench denoise                       # 1024 x 1024, sigma 25, on this machine's CPU
    python -m bench denoise --size 512 --methods bm3d-fast,tv --json out.json

The default method (``auto``) is chosen by these figures (jobs/denoise.py, docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

METHODS = ["bm3d", "bm3d-fast", "tv", "wavelet"]


def psnr(result: np.ndarray, clean: np.ndarray) -> float:
    mse = float(np.mean((np.clip(result, 0, 1).astype(np.float64) - clean) ** 2))
    return 10 * np.log10(1.0 / mse)


def noisy_astronaut(size: int, sigma: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy): the astronaut at size x size, plus Gaussian noise of ``sigma`` (0-255 levels), clipped
    to [0, 1] as an 8-bit photo would be."""
    from bench.__main__ import test_image

    clean = test_image(size)
    noise = np.random.default_rng(seed).normal(0.0, sigma / 255.0, clean.shape)
    return clean, np.clip(clean + noise, 0, 1).astype(np.float32)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench denoise", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1024, help="image side in px (default 1024)")
    parser.add_argument("--sigma", type=float, default=25.0, help="noise level, 0-255 levels (default 25)")
    parser.add_argument("--methods", default=",".join([*METHODS, "auto"]), help="comma-separated")
    parser.add_argument("--device", default="cpu", help="the job's device option (default cpu)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from jobs import denoise

    clean, noisy = noisy_astronaut(args.size, args.sigma)
    rows: list[dict[str, Any]] = []
    load = os.getloadavg()[0]
    print(f"denoise {args.size}x{args.size}, sigma {args.sigma:g}/255, device {args.device}, "
          f"{os.cpu_count()} CPUs (load {load:.1f}); noisy input {psnr(noisy, clean):.2f} dB")  # fmt: skip
    print(f"{'method':<12} {'ran':<12} {'seconds':>8} {'CPU s':>8} {'PSNR dB':>8} {'s/MP':>7}")
    for method in args.methods.split(","):
        options = {"method": method, "sigma": args.sigma, "device": args.device}
        denoise.run(noisy[:64, :64], options, lambda *_: None)  # imports and first calls, not timed
        started, cpu_started = time.perf_counter(), time.process_time()
        output = denoise.run(noisy, options, lambda *_: None)
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        ran = str(output.metadata["model"])
        row = {
            "method": method,
            "ran": ran,
            "seconds": round(seconds, 2),
            "cpu_s": round(cpu_s, 2),  # all threads: near seconds x cores when the machine is otherwise idle
            "psnr_db": round(psnr(output.image, clean), 2),
            "s_per_mp": round(seconds / (args.size * args.size / 1e6), 2),
        }
        rows.append(row)
        figures = f"{row['seconds']:>8.2f} {row['cpu_s']:>8.2f} {row['psnr_db']:>8.2f} {row['s_per_mp']:>7.2f}"
        print(f"{method:<12} {ran:<12} {figures}", flush=True)
    if args.json:
        report = {"size": args.size, "sigma": args.sigma, "device": args.device, "cpus": os.cpu_count(), "load": load,
                  "machine": platform.processor() or platform.machine(), "rows": rows}  # fmt: skip
        args.json.write_text(json.dumps(report, indent=1))
    return 0
