"""detect-text: find text with PP-OCR (through rapidocr) and build the inpainting mask.

Writes, beside the result (which is the mask itself):
- ``text.json``: every detected line with its polygon, box, recognised text and score, and the lines
  dropped as implausible, each with its reason;
- ``result.json``: the same report, as the detect_text operation's result (RecordResult records
  ``result.*`` files, and the web form draws its boxes on the mask before inpaint runs);
- ``mask.png``: the text's own pixels (jobs/glyph_mask.py: fill, outline and anti-aliased edge, grown by
  at most GLYPH_GROW_PX), or, for a line whose pixels cannot be told from its background, its polygon
  dilated by ``dilate_px``; unioned with the user's mask when given.

Only text-like lines are masked (``plausible_lines``): PP-OCR reads eyes, coins and whole photos as "0",
"O" or "8" with confidences up to 0.9. When no line is left and no mask was drawn, the mask is empty, the
metadata's ``outcome`` says "No text found: nothing changed", and the inpaint job returns the image as it was.

The OCR models are the ONNX files shipped inside the rapidocr wheel; they are
named explicitly so rapidocr never looks for (or downloads) anything else.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import time
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from aiorch.contracts import JobStage, Operation
from jobs.contract import JobFailure, OperationOutput, Progress, no_progress
from jobs.imageio import encode_mask
from jobs.options import option_names, read_options

JOB = "detect-text"
# One options object for both of the inpaint operation's jobs: each takes all of it.
OPTIONS = option_names(Operation.inpaint)
# A "line" whose box covers more of the image than this is taken for no line of text: on photos with no
# text at all PP-OCR reported a whole-image "8" (score 0.51) and a "6" boxed over 42% of a cat (0.56), and
# masking them wipes the photo. Real lines are strips; a word filling a quarter of the frame can be drawn.
MAX_LINE_AREA_FRACTION = 0.25
# Text-likeness, measured on 36 text-free photos (18 scikit-image photos at 600 and 900 px wide) and on
# rendered text (bench/inpaint_fixtures.py; python -m bench inpaint): every false line was one
# character ("0" on each of the cat's eyes 0.70, "O" on coins 0.81, "8" on a face 0.84, on a coffee cup
# 0.90) or a run of round shapes ("0000" and "C000" on the camera man, 0.68 and 0.69); every rendered
# line had 3 characters or more and scored 0.97 or more. So a line needs at least MIN_TEXT_CHARACTERS
# letters or digits and a confidence of at least MIN_TEXT_SCORE, whatever the (lower) min_score option.
MIN_TEXT_CHARACTERS = 2
MIN_TEXT_SCORE = 0.8
# Glyph masks grow by this much (the segmentation's hysteresis already takes the anti-aliased edge;
# measured 1 px: +0.2 to +3 dB over 3 px with FSR); a box mask grows by dilate_px.
GLYPH_GROW_PX = 1
NO_TEXT_FOUND = "No text found: nothing changed"
# A mask covering this much of the image leaves nothing to fill from: reported as a warning.
WHOLE_IMAGE_MASK_FRACTION = 0.98
# rapidocr shrinks anything larger to this side before detecting; larger photos are read in tiles.
OCR_TILE = 2000
OCR_TILE_OVERLAP = 200
# A user mask is stretched to the image when their shapes differ, but only this far.
MAX_MASK_ASPECT_DIFFERENCE = 0.05

# The models the rapidocr wheel ships, by rapidocr's config section.
PACKAGED_MODELS = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


def run(
    image: np.ndarray, options: dict[str, Any], progress: Progress, mask: np.ndarray | None = None
) -> OperationOutput:
    options = read_options(Operation.inpaint, JOB, options)
    dilate_px, min_score, use_ocr = options["dilate_px"], options["min_score"], options["use_ocr"]
    if not use_ocr and mask is None:
        raise JobFailure("With use_ocr false the mask must come from the user: upload a mask.", "BadRequest")
    height, width = image.shape[:2]

    started = time.perf_counter()
    if use_ocr:
        _engine()  # the OCR models' load, timed apart from the reading
    loaded_at = time.perf_counter()
    found = detect_text_tiled(image, progress) if use_ocr else []
    lines, dropped = plausible_lines(found, min_score, height, width)
    ocr_s = time.perf_counter() - loaded_at

    text_mask, mask_kinds = text_pixels_mask(image, lines, dilate_px)
    for line, kind in zip(lines, mask_kinds, strict=True):
        line["mask"] = kind
    mask_s = time.perf_counter() - loaded_at - ocr_s
    combined = (text_mask | fit_user_mask(mask, height, width)) if mask is not None else text_mask

    text_json = {
        "width": width,
        "height": height,
        "engine": engine_description(),
        "dilate_px": dilate_px,
        "min_score": min_score,
        "user_mask": mask is not None,
        "ocr": use_ocr,
        "lines": lines,
        "dropped_lines": dropped,
    }
    metadata: dict[str, Any] = (
        ocr_metadata() if use_ocr else {"model": None, "weights": None, "note": "use_ocr false: user mask only"}
    )
    masked_fraction = float(combined.mean())
    warnings = []
    if masked_fraction >= WHOLE_IMAGE_MASK_FRACTION:
        warnings.append(
            f"the mask covers {masked_fraction:.0%} of the image: inpainting has almost nothing to fill from"
        )
    metadata.update(
        text_lines=len(lines),
        dropped_lines=dropped,
        mask_kinds={kind: mask_kinds.count(kind) for kind in sorted(set(mask_kinds))},
        glyph_grow_px=min(dilate_px, GLYPH_GROW_PX),
        masked_fraction=round(masked_fraction, 6),
        warnings=warnings,
        timings_s={"load_model": loaded_at - started, "model": ocr_s, "text_mask": mask_s},
    )
    if use_ocr and not lines and mask is None:
        metadata["outcome"] = NO_TEXT_FOUND
        metadata["unchanged"] = True
    text_json["outcome"] = metadata.get("outcome")
    report = json.dumps(text_json, indent=1).encode()
    return OperationOutput(
        image=combined,
        metadata=metadata,
        extra_files={"text.json": report, "result.json": report, "mask.png": encode_mask(combined)},
    )


def libraries(options: dict[str, Any]) -> tuple[str, ...]:
    """What the job imports before its first pixel (the job CLI times it as timings_s.imports)."""
    return ("cv2", "rapidocr") if options.get("use_ocr", True) is not False else ("cv2",)


def plausible_lines(
    lines: list[dict[str, Any]], min_score: float, height: int, width: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(kept, dropped): lines that are not text-like are dropped, each named with its reason: scored
    below ``min_score`` or below MIN_TEXT_SCORE, with fewer than MIN_TEXT_CHARACTERS letters or digits
    (a lone "0" is how PP-OCR reads an eye), or boxed over more than MAX_LINE_AREA_FRACTION of the image."""
    kept: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    image_area = max(1, height * width)
    for line in lines:
        x0, y0, x1, y1 = line["box"]
        fraction = max(0, x1 - x0) * max(0, y1 - y0) / image_area
        characters = sum(1 for char in str(line["text"]) if char.isalnum())
        if line["score"] < min_score:
            reason = f"score {line['score']:.2f} below min_score {min_score:.2f}"
        elif characters < MIN_TEXT_CHARACTERS:
            reason = f"{characters} letter(s) or digit(s): a lone character is no text (eyes read as '0')"
        elif line["score"] < MIN_TEXT_SCORE:
            reason = f"score {line['score']:.2f} below {MIN_TEXT_SCORE:.2f}, the least real text measured"
        elif fraction > MAX_LINE_AREA_FRACTION:
            reason = f"box covers {fraction:.0%} of the image (more than {MAX_LINE_AREA_FRACTION:.0%})"
        else:
            kept.append(line)
            continue
        dropped.append(
            {"text": line["text"], "score": round(float(line["score"]), 4), "box": line["box"], "reason": reason}
        )
    return kept, dropped


def ocr_metadata() -> dict[str, Any]:
    models = packaged_model_paths()
    return {
        "model": "PP-OCRv6 det+rec small, PP-OCR mobile v2.0 cls (rapidocr, onnxruntime)",
        "weights": f"{engine_description()} wheel: " + ", ".join(path.name for path in models.values()),
        "weights_sha256": {path.name: _sha256(path) for path in models.values()},
        "fallback": False,
        "device": "cpu (onnxruntime)",
        "precision": "fp32",
    }


def detect_text_tiled(image: np.ndarray, progress: Progress = no_progress) -> list[dict[str, Any]]:
    """OCR over overlapping tiles no larger than rapidocr's working size, so small text on a large
    photo is read at full resolution (rapidocr would shrink the whole image to 2000 px).
    A line found twice in an overlap is kept once, with its better score."""
    from jobs.tiler import axis_tiles

    height, width = image.shape[:2]
    rows, tile_h = axis_tiles(height, OCR_TILE, OCR_TILE_OVERLAP)
    cols, tile_w = axis_tiles(width, OCR_TILE, OCR_TILE_OVERLAP)
    tiles = [(top, left) for top in rows for left in cols]
    found: list[dict[str, Any]] = []
    progress(JobStage.detecting_text, 0, len(tiles))
    for done, (top, left) in enumerate(tiles, start=1):
        found += detect_text(image[top : top + tile_h, left : left + tile_w], offset=(left, top))
        progress(JobStage.detecting_text, done, len(tiles))
    return drop_duplicates(found)


def drop_duplicates(lines: list[dict[str, Any]], min_overlap: float = 0.5) -> list[dict[str, Any]]:
    """Keep one of any two lines whose boxes overlap by more than ``min_overlap`` of the smaller box."""

    def area(box: list[int]) -> int:
        return max(0, box[2] - box[0]) * max(0, box[3] - box[1])

    kept: list[dict[str, Any]] = []
    for line in sorted(lines, key=lambda item: -item["score"]):
        box = line["box"]
        for other in kept:
            o = other["box"]
            shared = area([max(box[0], o[0]), max(box[1], o[1]), min(box[2], o[2]), min(box[3], o[3])])
            if shared > min_overlap * max(1, min(area(box), area(o))):
                break
        else:
            kept.append(line)
    return sorted(kept, key=lambda item: (item["box"][1], item["box"][0]))


def detect_text(image: np.ndarray, offset: tuple[int, int] = (0, 0)) -> list[dict[str, Any]]:
    """OCR lines of a float RGB image: [{"text", "score", "polygon": [[x, y] x4], "box": [x0, y0, x1, y1]}].

    ``offset`` (x, y) is added to every coordinate (for a tile of a larger image).
    """
    bgr = np.ascontiguousarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)[..., ::-1])
    found = _engine()(bgr)
    if found.boxes is None or found.txts is None or found.scores is None:
        return []
    lines = []
    for polygon, text, score in zip(found.boxes, found.txts, found.scores, strict=True):
        points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2) + np.asarray(offset, dtype=np.float64)
        lines.append(
            {
                "text": str(text),
                "score": round(float(score), 4),
                "polygon": [[round(float(x), 1), round(float(y), 1)] for x, y in points],
                "box": [
                    math.floor(points[:, 0].min()),
                    math.floor(points[:, 1].min()),
                    math.ceil(points[:, 0].max()),
                    math.ceil(points[:, 1].max()),
                ],
            }
        )
    return lines


def text_pixels_mask(image: np.ndarray, lines: list[dict[str, Any]], dilate_px: int) -> tuple[np.ndarray, list[str]]:
    """bool HxW over every line's text pixels, and per line how it was masked: "glyphs" (its own
    pixels, grown by min(dilate_px, GLYPH_GROW_PX)) or "box: <why>" (its polygon grown by dilate_px)."""
    import cv2

    from jobs.glyph_mask import segment_line, to_lab

    height, width = image.shape[:2]
    if not lines:
        return np.zeros((height, width), bool), []
    lab = to_lab(image)
    glyphs: np.ndarray = np.zeros((height, width), np.uint8)
    boxes: list[list[list[float]]] = []
    kinds: list[str] = []
    for line in lines:
        found = segment_line(lab, line["polygon"], height, width)
        if found.sure:
            rows, cols = found.mask.shape
            glyphs[found.top : found.top + rows, found.left : found.left + cols] |= found.mask.astype(np.uint8)
            kinds.append("glyphs")
        else:
            boxes.append(line["polygon"])
            kinds.append(f"box: {found.reason}")
    grow = min(dilate_px, GLYPH_GROW_PX)
    if grow > 0 and glyphs.any():
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        glyphs = cv2.dilate(glyphs, disc)
    return glyphs.astype(bool) | polygons_mask(boxes, height, width, dilate_px), kinds


def polygons_mask(polygons: list[list[list[float]]], height: int, width: int, dilate_px: int) -> np.ndarray:
    """bool HxW: the filled polygons, grown by ``dilate_px`` in every direction (a disc, not a square)."""
    import cv2

    mask = np.zeros((height, width), np.uint8)
    if polygons:
        cv2.fillPoly(mask, [np.round(np.asarray(p)).astype(np.int32) for p in polygons], 1)
    if dilate_px > 0 and mask.any():
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate_px + 1, 2 * dilate_px + 1))
        return np.asarray(cv2.dilate(mask, disc), dtype=bool)
    return mask.astype(bool)


def fit_user_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """The user's mask at the image's size; a mask of a clearly different shape is refused."""
    import cv2

    if mask.shape == (height, width):
        return mask.astype(bool)
    mask_aspect = mask.shape[1] / mask.shape[0]
    image_aspect = width / height
    if abs(mask_aspect / image_aspect - 1.0) > MAX_MASK_ASPECT_DIFFERENCE:
        raise JobFailure(
            f"The mask is {mask.shape[1]}x{mask.shape[0]} but the image is {width}x{height}: their shapes "
            "differ too much to line them up. Draw the mask on the same image.",
            "BadMask",
        )
    resized = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
    return resized.astype(bool)


def packaged_model_paths() -> dict[str, Path]:
    import rapidocr

    models_dir = Path(rapidocr.__file__).parent / "models"
    paths = {section: models_dir / name for section, name in PACKAGED_MODELS.items()}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing:
        raise JobFailure(
            f"The installed rapidocr lacks its packaged OCR models ({', '.join(missing)}).", "WeightsMissing"
        )
    return paths


def engine_description() -> str:
    return f"rapidocr {importlib.metadata.version('rapidocr')}"


@cache
def _engine() -> Any:
    from rapidocr import RapidOCR

    params: dict[str, Any] = {"Global.log_level": "warning"}
    for section, path in packaged_model_paths().items():
        params[f"{section}.model_path"] = str(path)
    return RapidOCR(params=params)


@cache
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
