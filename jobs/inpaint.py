"""inpaint: fill the masked pixels, with LaMa when its weights are configured, else a classical filler.

Weights: option ``weights``, else Settings ``lama_weights``, else the
registry's ``big-lama`` file when it is in the weights folder
(``Settings.resolved_weights_dir``: the job image puts it there, and so does
``aiorch weights pull big-lama``). Without any, ``auto`` runs the best classical filler
installed, chosen by measurement (``python -m bench inpaint``, docs/benchmarks.md):
OpenCV contrib's FSR (``cv2.xphoto.inpaint``, INPAINT_FSR_FAST) when the contrib
build of OpenCV is installed, else OpenCV's Telea; the metadata says
"fallback: opencv-fsr-fast" or "fallback: opencv-telea". ``method telea`` is Telea.
FSR is bounded in time: a region whose hole is larger than FSR_MAX_HOLE_PIXELS is
filled by Telea (named in the metadata's ``fillers``).

An empty mask (detect-text found no text) returns the image as it was, with
``outcome`` "No text found: nothing changed" when OCR was on.

The work is done per region: each connected part of the mask is cropped with
``context_px`` of surroundings (overlapping crops are merged), filled, and only
its masked pixels are pasted back. Pixels outside the mask are never changed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from aiorch.contracts import JobStage, Operation
from aiorch.settings import get_settings
from jobs.contract import JobFailure, OperationOutput, Progress
from jobs.options import choose_precision, option_names, read_options
from jobs.text_detection import fit_user_mask

JOB = "inpaint"
# One options object for both of the operation's jobs (detect-text, then inpaint): each takes all of it.
OPTIONS = option_names(Operation.inpaint)
# Option max_side: LaMa sees each crop at most this large (longest side); bigger crops are filled at
# that size and the fill is scaled back up. big-lama was trained on 256-512 px crops.
LAMA_SIZE_MULTIPLE = 8
# FSR (frequency selective reconstruction) costs grow with the hole; beyond this many masked pixels in one
# region Telea fills it (measured: FSR_FAST took about 1 s for 20 000 hole pixels on one CPU core).
FSR_MAX_HOLE_PIXELS = 200_000
# FSR is given the hole's bounding box with this much around it (its blocks draw from close by).
FSR_CONTEXT_PX = 32


@dataclass(frozen=True)
class Region:
    """A crop of the image: rows top:bottom, columns left:right."""

    top: int
    bottom: int
    left: int
    right: int

    def overlaps(self, other: Region) -> bool:
        return (
            self.top < other.bottom and other.top < self.bottom and self.left < other.right and other.left < self.right
        )

    def union(self, other: Region) -> Region:
        return Region(
            min(self.top, other.top),
            max(self.bottom, other.bottom),
            min(self.left, other.left),
            max(self.right, other.right),
        )

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)


def run(
    image: np.ndarray, options: dict[str, Any], progress: Progress, mask: np.ndarray | None = None
) -> OperationOutput:
    if mask is None:
        raise JobFailure("Inpainting needs a mask.", "BadRequest")
    options = read_options(Operation.inpaint, JOB, options)
    height, width = image.shape[:2]
    mask = fit_user_mask(mask, height, width)
    context_px, max_side, radius = options["context_px"], options["max_side"], options["radius"]

    started = time.perf_counter()
    filler, metadata = _choose_filler(options, radius, max_side)
    loaded_at = time.perf_counter()
    regions = mask_regions(mask, context_px)
    result = image.copy()
    progress(JobStage.inpainting, 0, len(regions))
    fillers: dict[str, int] = {}
    for done, region in enumerate(regions, start=1):
        rows, cols = region.slices
        crop_mask = mask[rows, cols]
        filled = filler(image[rows, cols], crop_mask)
        used = getattr(filler, "last_used", metadata["model"])
        fillers[used] = fillers.get(used, 0) + 1
        result[rows, cols][crop_mask] = filled[crop_mask]
        progress(JobStage.inpainting, done, len(regions))
    metadata["timings_s"] = {"load_model": loaded_at - started, "model": time.perf_counter() - loaded_at}
    metadata.update(
        tiles=len(regions),
        masked_pixels=int(mask.sum()),
        regions=[[r.left, r.top, r.right, r.bottom] for r in regions],
        context_px=context_px,
    )
    if fillers:
        metadata["fillers"] = fillers
    if not regions:
        metadata["notes"] = ["the mask is empty: nothing was filled", *metadata.get("notes", [])]
        metadata["unchanged"] = True
        if options.get("use_ocr", True):
            from jobs.text_detection import NO_TEXT_FOUND

            metadata["outcome"] = NO_TEXT_FOUND
    metadata["warnings"] = []
    if regions and np.array_equal(result, image):
        metadata["warnings"].append("the result equals the input: no pixel under the mask changed")
    return OperationOutput(image=result, metadata=metadata)


def mask_regions(mask: np.ndarray, context_px: int) -> list[Region]:
    """Crops that hold every masked pixel with at least ``context_px`` around it, merged where they overlap."""
    import cv2

    if not mask.any():
        return []
    height, width = mask.shape
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    regions = []
    for left, top, w, h, _area in stats[1:count]:
        regions.append(
            Region(
                max(0, int(top) - context_px),
                min(height, int(top + h) + context_px),
                max(0, int(left) - context_px),
                min(width, int(left + w) + context_px),
            )
        )
    return merge_overlapping(regions)


def merge_overlapping(regions: list[Region]) -> list[Region]:
    merged = list(regions)
    changed = True
    while changed:
        changed = False
        result: list[Region] = []
        for region in merged:
            for i, other in enumerate(result):
                if region.overlaps(other):
                    result[i] = other.union(region)
                    changed = True
                    break
            else:
                result.append(region)
        merged = result
    return sorted(merged, key=lambda r: (r.top, r.left))


def telea_fill(radius: int) -> Any:
    """OpenCV's Telea inpainting (fast marching), on 8-bit pixels."""
    import cv2

    def fill(crop: np.ndarray, crop_mask: np.ndarray) -> np.ndarray:
        pixels = np.clip(crop * 255.0 + 0.5, 0, 255).astype(np.uint8)
        filled = cv2.inpaint(pixels, crop_mask.astype(np.uint8), radius, cv2.INPAINT_TELEA)
        return filled.astype(np.float32) / 255.0

    return fill


def fsr_available() -> bool:
    """Whether OpenCV's contrib module xphoto (with its FSR inpainter) is installed."""
    import cv2

    return hasattr(cv2, "xphoto") and hasattr(cv2.xphoto, "INPAINT_FSR_FAST")


def fsr_fill(radius: int, max_hole_pixels: int = FSR_MAX_HOLE_PIXELS) -> Any:
    """OpenCV contrib's frequency selective reconstruction (FSR_FAST), on 8-bit pixels; a hole larger
    than ``max_hole_pixels`` is left to Telea, which is fast at any size. ``fill.last_used`` names which ran."""
    import cv2

    telea = telea_fill(radius)

    def fill(crop: np.ndarray, crop_mask: np.ndarray) -> np.ndarray:
        if int(crop_mask.sum()) > max_hole_pixels:
            fill.last_used = "opencv-telea"  # type: ignore[attr-defined]
            return telea(crop, crop_mask)
        # FSR reconstructs from nearby blocks only, and its cost grows with the area it is given: the
        # hole's bounding box with FSR_CONTEXT_PX around it, not the whole context crop.
        ys, xs = np.nonzero(crop_mask)
        top, left = max(0, int(ys.min()) - FSR_CONTEXT_PX), max(0, int(xs.min()) - FSR_CONTEXT_PX)
        bottom = min(crop_mask.shape[0], int(ys.max()) + 1 + FSR_CONTEXT_PX)
        right = min(crop_mask.shape[1], int(xs.max()) + 1 + FSR_CONTEXT_PX)
        pixels = np.clip(crop[top:bottom, left:right] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        known = (~crop_mask[top:bottom, left:right]).astype(np.uint8)  # xphoto's mask marks the kept pixels
        filled = np.zeros_like(pixels)
        cv2.xphoto.inpaint(pixels, known, filled, cv2.xphoto.INPAINT_FSR_FAST)
        fill.last_used = "opencv-fsr-fast"  # type: ignore[attr-defined]
        result = crop.copy()
        result[top:bottom, left:right] = filled.astype(np.float32) / 255.0
        return result

    fill.last_used = "opencv-fsr-fast"  # type: ignore[attr-defined]
    return fill


def lama_fill(model: Any, device: Any, max_side: int) -> Any:
    """LaMa on one crop: scaled down to ``max_side`` if needed, padded to a multiple of 8."""
    import cv2
    import torch
    import torch.nn.functional as F

    def fill(crop: np.ndarray, crop_mask: np.ndarray) -> np.ndarray:
        height, width = crop_mask.shape
        scale = min(1.0, max_side / max(height, width))
        pixels, holes = crop, crop_mask.astype(np.float32)
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            pixels = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            holes = (cv2.resize(holes, size, interpolation=cv2.INTER_AREA) > 0).astype(np.float32)
        dtype = next(model.parameters()).dtype  # fp16 when the job chose half precision
        image_t = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None].to(device, dtype)
        mask_t = torch.from_numpy(np.ascontiguousarray(holes))[None, None].to(device, dtype)
        h, w = mask_t.shape[-2:]
        pad_h, pad_w = (-h) % LAMA_SIZE_MULTIPLE, (-w) % LAMA_SIZE_MULTIPLE
        # LaMa needs 16 px at least; reflect padding needs the pad smaller than the side.
        pad_h, pad_w = max(pad_h, 16 - h), max(pad_w, 16 - w)
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        image_t = F.pad(image_t, (0, pad_w, 0, pad_h), mode=mode)
        mask_t = F.pad(mask_t, (0, pad_w, 0, pad_h), mode="constant", value=0.0)
        with torch.inference_mode():
            out = model(image_t, mask_t)[:, :, :h, :w].clamp(0, 1)
        filled = out[0].permute(1, 2, 0).float().cpu().numpy()
        if scale < 1.0:
            filled = cv2.resize(filled, (width, height), interpolation=cv2.INTER_CUBIC)
        return np.clip(filled, 0, 1).astype(np.float32)

    return fill


def resolve_filler(options: dict[str, Any]) -> tuple[str, Any, str | None]:
    """(method, LaMa weights, registered LaMa name): "auto" is LaMa when weights exist, else the best
    classical filler installed ("fsr" when OpenCV contrib is, else "telea")."""
    from aiorch.weights import find_weights, pull_command

    method = options.get("method") or "auto"  # checked by the schema (jobs.options.read_options)
    settings = get_settings()
    # The one rule (aiorch.weights.find_weights): the option, AIORCH_LAMA_WEIGHTS, the weights folder's big-lama.pt.
    weights: Any = find_weights("big-lama", options.get("weights"), settings)
    name = None
    if weights and not (options.get("weights") or settings.lama_weights):
        weights, name = None, "big-lama"  # the registry's file: loaded by name, its published sha256 checked
    if method == "lama" and not weights and not name:
        raise JobFailure(
            f"LaMa needs weights: install them with `{pull_command('big-lama')}` (into AIORCH_WEIGHTS_DIR) or "
            "set AIORCH_LAMA_WEIGHTS. Without them, use method telea.",
            "BadRequest",
        )
    if method == "auto":
        method = "lama" if weights or name else ("fsr" if fsr_available() else "telea")
    return method, weights, name


def libraries(options: dict[str, Any]) -> tuple[str, ...]:
    """What the job imports before its first pixel (the job CLI times it as timings_s.imports)."""
    method, _, _ = resolve_filler(options)
    return ("cv2", "torch", "spandrel") if method == "lama" else ("cv2",)


def _choose_filler(options: dict[str, Any], radius: int, max_side: int) -> tuple[Any, dict[str, Any]]:
    """(fill function, metadata naming what fills): LaMa with weights, else the Telea fallback."""
    method, weights, name = resolve_filler(options)
    if method in ("telea", "fsr"):
        algorithm = "opencv-telea" if method == "telea" else "opencv-fsr-fast"
        # OpenCV's inpainters work on 8-bit pixels: no half (or full) float precision to choose.
        choose_precision(
            Operation.inpaint,
            JOB,
            options.get("precision") or "auto",
            device_type="cpu",
            supports_half=False,
            model=f"{algorithm} (a classical method)",
        )
        metadata: dict[str, Any] = {
            "model": algorithm,
            "weights": f"fallback: {algorithm}",
            "weights_sha256": None,
            "fallback": True,
            "device": "cpu",
            "precision": "uint8",
            "radius": radius,
        }
        if method == "telea" and (options.get("method") or "auto") == "auto":
            metadata["notes"] = ["OpenCV contrib (cv2.xphoto) is not installed: Telea fills instead of FSR"]
        return (telea_fill(radius) if method == "telea" else fsr_fill(radius)), metadata

    from jobs.devices import describe_device, pick_device
    from jobs.weights.loaders import load_model

    loaded = load_model(name=name, weights=str(weights) if weights else None)
    if loaded.architecture != "LaMa":
        raise JobFailure(f"The inpaint weights hold a {loaded.architecture} model, not LaMa.", "BadWeights")
    device = pick_device(options.get("device"))
    precision = choose_precision(
        Operation.inpaint,
        JOB,
        options.get("precision") or "auto",
        device_type=device.type,
        supports_half=loaded.supports_half,
        model="LaMa",
    )
    model = loaded.module.to(device)
    model = model.half() if precision == "fp16" else model
    metadata = {
        "model": "LaMa",
        "weights": loaded.weights,
        "weights_sha256": loaded.sha256,
        "fallback": False,
        "device": describe_device(device),
        "precision": precision,
        "max_side": max_side,
    }
    return lama_fill(model, device, max_side), metadata
