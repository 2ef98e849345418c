"""Quick correctness checks of the tiler on a real GPU (run before the benchmark).

    python -m bench.gpu_check --device cuda --json gpu_check.json

1. Real x4plus, fp16, tiles of size/2: our tiled output vs the whole-image output of the same fp16
   model (max and mean absolute difference, PSNR), and fp16 vs fp32 (whole image).
2. The CUDA code paths of the recovery logic, with a small random model: a simulated
   out-of-memory error for large tiles, and NaN in fp16; both must still match the
   whole-image output.
Exits 1 when a check fails; prints and writes every figure either way.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_check")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    import torch
    from spandrel.architectures.Compact import Compact

    from bench.__main__ import test_image
    from jobs import upscale
    from jobs.devices import describe_device, pick_device
    from jobs.tiler import Tiler, TilerOptions

    device = pick_device(args.device)
    half = device.type == "cuda"
    checks: dict[str, dict] = {}
    image = test_image(args.size)

    def whole(module: torch.nn.Module, precision: str) -> np.ndarray:
        dtype = torch.float16 if precision == "fp16" else torch.float32
        with torch.inference_mode():
            x = torch.from_numpy(image).permute(2, 0, 1)[None].to(device, dtype)
            model = module if precision == "fp32" else __import__("copy").deepcopy(module).half()
            return model(x)[0].float().permute(1, 2, 0).cpu().numpy()

    # 1. Real x4plus through jobs.upscale, tiles of 128 with overlap 32.
    precision = "fp16" if half else "fp32"
    tile = args.size // 2
    result = upscale.run(image, {"device": str(device), "tile": tile, "tile_overlap": 32, "precision": precision})
    loaded = upscale._model(upscale.parse_options({}))
    reference = np.clip(whole(loaded.module, precision), 0, 1)
    difference = np.abs(result.image - reference)
    checks["x4plus_tiled_vs_whole"] = {
        "precision": precision,
        "tiles": result.metadata["tiles"],
        "max_abs": float(difference.max()),
        "mean_abs": float(difference.mean()),
        "psnr_db": psnr(result.image, reference),
        "finite": bool(np.isfinite(result.image).all()),
        "ok": bool(np.isfinite(result.image).all() and psnr(result.image, reference) > 35),
    }
    if half:
        fp32 = np.clip(whole(loaded.module, "fp32"), 0, 1)
        checks["x4plus_fp16_vs_fp32_whole"] = {"psnr_db": psnr(reference, fp32), "ok": psnr(reference, fp32) > 35}

    # 2. Recovery paths with a small model.
    torch.manual_seed(0)
    small = Compact(num_feat=16, num_conv=4, upscale=4).eval().to(device)
    small_whole = whole(small, "fp32")

    class OutOfMemoryAbove(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module, limit: int) -> None:
            super().__init__()
            self.inner, self.limit = inner, limit

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if max(x.shape[-2:]) > self.limit:
                raise torch.cuda.OutOfMemoryError("simulated: CUDA out of memory")
            return self.inner(x)

    class NaNInHalf(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.dtype == torch.float16:
                return torch.full((x.shape[0], 3, x.shape[2] * 4, x.shape[3] * 4), float("nan"), device=x.device)
            return self.inner(x)

    for name, model, options in [
        ("oom_backoff", OutOfMemoryAbove(small, limit=tile), TilerOptions(tile=tile, overlap=16, batch=2)),
        ("nan_fp16_retry", NaNInHalf(small), TilerOptions(tile=tile, overlap=16, batch=2, precision=precision)),
    ]:
        try:
            output, report = Tiler(model, 4, device, options).run(image)
        except Exception as error:  # recorded as a failed check; the other checks still run
            checks[name] = {"error": f"{type(error).__name__}: {error}", "ok": False}
            continue
        difference = np.abs(output - small_whole)
        checks[name] = {
            "oom_retries": report.oom_retries,
            "fp32_retries": report.fp32_retries,
            "max_abs": float(difference.max()),
            "ok": bool(np.isfinite(output).all() and difference.max() < 1e-2)
            and (report.oom_retries > 0 if name == "oom_backoff" else report.fp32_retries > 0 or not half),
        }

    summary = {"device": describe_device(device), "checks": checks, "ok": all(c["ok"] for c in checks.values())}
    text = json.dumps(summary, indent=2, default=_plain)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0 if summary["ok"] else 1


def _plain(value: object) -> object:
    """numpy scalars (np.bool_, np.float32) as plain JSON values."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


if __name__ == "__main__":
    sys.exit(main())
