"""Text removal without weights, measured: ``python -m bench inpaint [--json out.json] [--quick]``.

Per text fixture (bench/inpaint_fixtures.py: scikit-image photos with text rendered on them, so the
clean photo is known): PSNR over the text's boxes against the clean photo, for the old way (every OCR
line over min_score, its polygon dilated by dilate_px, filled by Telea) and for the new masks (text-like
lines only, each line's own pixels: jobs/glyph_mask.py) with each classical filler; and whether OCR still
reads any of the words in the default result. Per text-free photo: the share of pixels the old and the new
pipeline change. And the new default's seconds per megapixel (OCR, mask and fill), on this machine's CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

# The old detect-text defaults (min_score 0.5, dilate_px 8) and Telea's radius 5.
OLD_MIN_SCORE = 0.5
DILATE_PX = 8
RADIUS = 5
BOX_MARGIN_PX = 4  # PSNR is taken over each drawn line's box grown by this much


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def fillers() -> dict[str, Any]:
    """name → fill(crop, crop_mask), every classical filler installed here."""
    import cv2

    from jobs import inpaint

    def opencv(flag: int) -> Any:
        def fill(crop: np.ndarray, crop_mask: np.ndarray) -> np.ndarray:
            pixels = np.clip(crop * 255.0 + 0.5, 0, 255).astype(np.uint8)
            return cv2.inpaint(pixels, crop_mask.astype(np.uint8), RADIUS, flag).astype(np.float32) / 255.0

        return fill

    found: dict[str, Any] = {"telea": inpaint.telea_fill(RADIUS), "ns": opencv(cv2.INPAINT_NS)}
    if inpaint.fsr_available():
        found["fsr-fast"] = inpaint.fsr_fill(RADIUS)
    return found


def fill_with(image: np.ndarray, mask: np.ndarray, fill: Any) -> np.ndarray:
    """The inpaint job's own region loop (crops with context, only masked pixels pasted back)."""
    from jobs.inpaint import mask_regions

    result = image.copy()
    for region in mask_regions(mask, 128):
        rows, cols = region.slices
        crop_mask = mask[rows, cols]
        result[rows, cols][crop_mask] = fill(image[rows, cols], crop_mask)[crop_mask]
    return result


def old_mask(lines: list[dict[str, Any]], height: int, width: int) -> np.ndarray:
    """Before: every line over min_score 0.5 and under a quarter of the image, its polygon dilated."""
    from jobs.text_detection import MAX_LINE_AREA_FRACTION, polygons_mask

    kept = []
    for line in lines:
        x0, y0, x1, y1 = line["box"]
        if line["score"] >= OLD_MIN_SCORE and (x1 - x0) * (y1 - y0) <= MAX_LINE_AREA_FRACTION * height * width:
            kept.append(line["polygon"])
    return polygons_mask(kept, height, width, DILATE_PX)


def new_mask(image: np.ndarray, lines: list[dict[str, Any]]) -> tuple[np.ndarray, list[str]]:
    from jobs.text_detection import plausible_lines, text_pixels_mask

    height, width = image.shape[:2]
    kept, _ = plausible_lines(lines, OLD_MIN_SCORE, height, width)
    return text_pixels_mask(image, kept, DILATE_PX)


def box_region(boxes: list[list[int]], height: int, width: int) -> np.ndarray:
    region = np.zeros((height, width), bool)
    m = BOX_MARGIN_PX
    for x0, y0, x1, y1 in boxes:
        region[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m] = True
    return region


def run_default(image: np.ndarray) -> tuple[np.ndarray, dict[str, Any], float]:
    """The two jobs as the inpaint operation runs them with default options: (result, metadata, seconds)."""
    from jobs import inpaint, text_detection
    from jobs.contract import no_progress

    started = time.perf_counter()
    detected = text_detection.run(image, {}, no_progress)
    filled = inpaint.run(image, {}, no_progress, mask=detected.image)
    seconds = time.perf_counter() - started
    return filled.image, {"detect-text": detected.metadata, "inpaint": filled.metadata}, seconds


def main(argv: list[str] | None = None) -> int:
    from bench.inpaint_fixtures import TEXT_FREE_WIDTHS, text_fixtures, text_free_photos
    from jobs import inpaint
    from jobs.text_detection import _engine, detect_text_tiled

    parser = argparse.ArgumentParser(prog="python -m bench inpaint", description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--quick", action="store_true", help="text-free photos at one size only")
    args = parser.parse_args(argv)

    _engine()  # the OCR models' load, outside every timing
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "fsr_available": inpaint.fsr_available(),
        "text": [],
        "text_free": [],
    }
    available = fillers()
    print(f"fillers: {', '.join(available)}  (FSR needs opencv-contrib-python-headless)", flush=True)
    header = f"{'fixture':<18} {'old box+telea':>13} " + " ".join(f"{'glyph+' + n:>14}" for n in available)
    print(header + f" {'s/MP':>6}  words left  masks", flush=True)
    for fixture in text_fixtures():
        image, clean = fixture.texted, fixture.clean
        height, width = image.shape[:2]
        region = box_region(fixture.boxes, height, width)
        lines = detect_text_tiled(image)
        row: dict[str, Any] = {"fixture": fixture.name, "megapixels": height * width / 1e6}
        old = fill_with(image, old_mask(lines, height, width), available["telea"])
        row["old_box_telea_db"] = psnr(old[region], clean[region])
        mask, kinds = new_mask(image, lines)
        row["mask_kinds"] = kinds
        row["glyph_db"] = {
            name: psnr(fill_with(image, mask, fill)[region], clean[region]) for name, fill in available.items()
        }
        row["untouched_db"] = psnr(image[region], clean[region])
        result, metadata, seconds = run_default(image)
        row["default_filler"] = metadata["inpaint"]["weights"]
        row["default_db"] = psnr(result[region], clean[region])
        row["seconds_per_mp"] = seconds / row["megapixels"]
        read = " ".join(line["text"].lower() for line in detect_text_tiled(result))
        words = [w for line in fixture.words for w in line.lower().split()]
        row["words_still_read"] = [w for w in words if len(w) > 2 and w in read]
        results["text"].append(row)
        print(
            f"{fixture.name:<18} {row['old_box_telea_db']:13.1f} "
            + " ".join(f"{row['glyph_db'][n]:14.1f}" for n in available)
            + f" {row['seconds_per_mp']:6.2f}  {','.join(row['words_still_read']) or '-':<10}  "
            + ",".join("g" if k == "glyphs" else "b" for k in kinds),
            flush=True,
        )
    means = {
        "old_box_telea_db": statistics.mean(r["old_box_telea_db"] for r in results["text"]),
        **{f"glyph_{n}_db": statistics.mean(r["glyph_db"][n] for r in results["text"]) for n in available},
        "default_db": statistics.mean(r["default_db"] for r in results["text"]),
        "seconds_per_mp": statistics.mean(r["seconds_per_mp"] for r in results["text"]),
    }
    results["text_means"] = means
    print("mean: " + ", ".join(f"{k} {v:.2f}" for k, v in means.items()), flush=True)

    widths = TEXT_FREE_WIDTHS[-1:] if args.quick else TEXT_FREE_WIDTHS
    print(f"\n{'text-free photo':<26} {'old changed':>11} {'new changed':>11}  outcome", flush=True)
    for name, image in text_free_photos(widths):
        height, width = image.shape[:2]
        lines = detect_text_tiled(image)
        old = fill_with(image, old_mask(lines, height, width), available["telea"])
        result, metadata, seconds = run_default(image)
        row = {
            "photo": name,
            "old_changed": float(np.any(old != image, axis=2).mean()),
            "new_changed": float(np.any(result != image, axis=2).mean()),
            "outcome": metadata["inpaint"].get("outcome"),
            "ocr_lines": [[line["text"], line["score"]] for line in lines],
            "seconds_per_mp": seconds / (height * width / 1e6),
        }
        results["text_free"].append(row)
        print(f"{name:<26} {row['old_changed']:11.2%} {row['new_changed']:11.2%}  {row['outcome']}", flush=True)
    changed = [r for r in results["text_free"] if r["new_changed"] > 0]
    print(f"text-free photos changed by the new default: {len(changed)} of {len(results['text_free'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
