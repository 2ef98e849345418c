"""python -m bench.deblur: each deblur method through the job's own code (jobs.deblur.run, tiles included) on
the project's fixture photos (scikit-image's, as bench/inpaint_fixtures.py makes them) blurred by scipy with
a known kernel plus noise 1/255; PSNR of the blurred input and of the result against the sharp photo, and
seconds per megapixel. A last row times auto on one large photo (about 4 MP) with the process's peak memory.

    python -m bench.deblur         # 512 px wide photos, then auto on a 2448 x 1632 (4 MP) photo
    python -m bench.deblur --photos coffee --blurs gaussian:2 --methods tv --large 0 --json out.json

The ``auto`` choice (TV or wavelet by expected time) reads these figures (jobs/deblur.py CPU_S_PER_MP,
docs/benchmarks.md).
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

PHOTOS = ("astronaut", "coffee", "chelsea")
BLURS = ("gaussian:1.5", "gaussian:3", "disk:3", "motion:9@30")
METHODS = ("tv", "wavelet")
NOISE_255 = 1.0


def psnr(result: np.ndarray, sharp: np.ndarray) -> float:
    mse = float(np.mean((np.clip(result, 0, 1).astype(np.float64) - sharp) ** 2))
    return 10 * np.log10(1.0 / mse)


def parse_blur(text: str) -> tuple[str, float, float]:
    """ "kind:px" or "kind:px@angle" -> (kind, px, angle in degrees)."""
    kind, _, size = text.partition(":")
    px, _, angle = size.partition("@")
    return kind, float(px), float(angle or 0)


def blurred(sharp: np.ndarray, kind: str, px: float, angle: float, seed: int = 0) -> np.ndarray:
    """The photo blurred by scipy (mirrored edges, as the scene goes on past the frame), plus noise
    NOISE_255, clipped as an 8-bit photo would be."""
    from scipy import ndimage

    from jobs.deblur import blur_kernel

    kernel = None if kind == "gaussian" else blur_kernel(kind, px, angle)[0, 0].numpy()
    channels = [
        ndimage.gaussian_filter(sharp[..., c], px, mode="reflect")
        if kernel is None
        else ndimage.convolve(sharp[..., c], kernel, mode="reflect")
        for c in range(3)
    ]
    noise = np.random.default_rng(seed).normal(0, NOISE_255 / 255, sharp.shape)
    return np.clip(np.stack(channels, axis=-1) + noise, 0, 1).astype(np.float32)


def peak_rss_mb() -> float | None:
    from bench.__main__ import host_peak_rss_mb

    return host_peak_rss_mb()


def timed(image: np.ndarray, options: dict[str, Any]) -> tuple[Any, float, float]:
    from jobs import deblur

    started, cpu_started = time.perf_counter(), time.process_time()
    output = deblur.run(image, options, lambda *_: None)
    return output, time.perf_counter() - started, time.process_time() - cpu_started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.deblur", description=__doc__.split("\n")[0])
    parser.add_argument("--photos", default=",".join(PHOTOS), help="scikit-image photo names, comma-separated")
    parser.add_argument("--width", type=int, default=512, help="photo width in px (default 512)")
    parser.add_argument("--blurs", default=",".join(BLURS), help="kind:px[@angle], comma-separated")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated")
    parser.add_argument("--large", type=int, default=2448, help="width of the auto run's photo, 0: none")
    parser.add_argument("--device", default="cpu", help="the job's device option (default cpu)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from bench.__main__ import reset_host_peak
    from bench.inpaint_fixtures import photo

    load = os.getloadavg()[0]
    print(f"deblur, photos {args.width} px wide, noise {NOISE_255:g}/255, device {args.device}, "
          f"{os.cpu_count()} CPUs (load {load:.1f})")  # fmt: skip
    print(f"{'photo':<11} {'blur':<13} {'method':<8} {'blurred dB':>10} {'result dB':>9} {'gain':>6} {'s/MP':>7}")
    timed(photo("astronaut", 64), {"method": "wavelet", "device": args.device})  # imports, not timed
    rows: list[dict[str, Any]] = []
    for name in args.photos.split(","):
        sharp = photo(name, args.width)
        megapixels = sharp.shape[0] * sharp.shape[1] / 1e6
        for blur in args.blurs.split(","):
            kind, px, angle = parse_blur(blur)
            degraded = blurred(sharp, kind, px, angle)
            for method in args.methods.split(","):
                options = {"blur": kind, "blur_px": px, "motion_angle": angle, "method": method, "device": args.device}
                output, seconds, cpu_s = timed(degraded, options)
                row = {
                    "photo": name,
                    "size": f"{sharp.shape[1]}x{sharp.shape[0]}",
                    "blur": blur,
                    "method": method,
                    "ran": output.metadata["model"],
                    "blurred_db": round(psnr(degraded, sharp), 2),
                    "result_db": round(psnr(output.image, sharp), 2),
                    "seconds": round(seconds, 2),
                    "cpu_s": round(cpu_s, 2),
                    "s_per_mp": round(seconds / megapixels, 1),
                }
                row["gain_db"] = round(row["result_db"] - row["blurred_db"], 2)
                rows.append(row)
                print(f"{name:<11} {blur:<13} {method:<8} {row['blurred_db']:>10.2f} {row['result_db']:>9.2f} "
                      f"{row['gain_db']:>+6.2f} {row['s_per_mp']:>7.1f}", flush=True)  # fmt: skip
    for method in args.methods.split(","):
        gains = [r["gain_db"] for r in rows if r["method"] == method]
        speeds = [r["s_per_mp"] for r in rows if r["method"] == method]
        if gains:
            print(f"{method}: mean gain {np.mean(gains):+.2f} dB (min {min(gains):+.2f}), "
                  f"median {np.median(speeds):.1f} s/MP")  # fmt: skip
    large: dict[str, Any] | None = None
    if args.large:
        sharp = photo("coffee", args.large)
        degraded = blurred(sharp, "gaussian", 2.0, 0.0)
        reset_host_peak()
        output, seconds, cpu_s = timed(degraded, {"device": args.device})  # all defaults: auto, gaussian 2 px
        megapixels = sharp.shape[0] * sharp.shape[1] / 1e6
        large = {
            "photo": "coffee",
            "size": f"{sharp.shape[1]}x{sharp.shape[0]}",
            "ran": output.metadata["model"],
            "tiles": output.metadata["tiles"],
            "tile": output.metadata["tile"],
            "blurred_db": round(psnr(degraded, sharp), 2),
            "result_db": round(psnr(output.image, sharp), 2),
            "seconds": round(seconds, 1),
            "cpu_s": round(cpu_s, 1),
            "s_per_mp": round(seconds / megapixels, 1),
            "peak_rss_mb": peak_rss_mb(),
        }
        print(f"auto on coffee {large['size']} ({megapixels:.1f} MP), gaussian 2 px: ran {large['ran']} in "
              f"{large['tiles']} tiles of {large['tile']} px, {large['blurred_db']:.2f} -> {large['result_db']:.2f} "
              f"dB, {large['seconds']:.1f} s ({large['s_per_mp']:.1f} s/MP), "
              f"peak RSS {large['peak_rss_mb']} MB")  # fmt: skip
    if args.json:
        report = {"width": args.width, "noise_255": NOISE_255, "device": args.device, "cpus": os.cpu_count(),
                  "load": load, "machine": platform.processor() or platform.machine(), "rows": rows,
                  "large": large}  # fmt: skip
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
