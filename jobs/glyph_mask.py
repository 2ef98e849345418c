"""The pixels of a line of text inside its OCR box: its fill, outline and anti-aliased edge, not the box.

For one OCR line: crop the box with a ring of surroundings, learn the background's colours from that
ring (k-means in CIELAB, per stretch of the line so a sky-to-ground line gets both), and take as text the
pixels inside the box whose colour is far from every background colour (Otsu's threshold over those
distances, never below MIN_CONTRAST). What is found is grown by a few pixels (the anti-aliased edge and
JPEG ringing) and returned; where the segmentation is unsure (the text barely differs from its
background, or "text" fills most of the box) the caller masks the whole box instead.

It also reports ``stroke_ratio``, the typical stroke width over the line's height (rendered text
measured 0.04 to 0.17). It is not used to drop lines: on scikit-image's cat the "0" read on each eye
measured 0.05 too (the fur's texture breaks the eye into thin pieces), so it does not tell eyes from text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Text whose colour differs from the nearest background colour by less than this (CIELAB ΔE, 8-bit
# L*a*b* as OpenCV scales it) is not told apart: the line is masked as a box.
MIN_CONTRAST = 18.0
# A "text" part covering more than this share of its box is not text on a background: box mask.
MAX_GLYPH_FRACTION = 0.85
# ... and one covering less than this is noise: box mask.
MIN_GLYPH_FRACTION = 0.02
# Otsu's separation below this: the distances are not two clear groups (text the colour of its
# background, a see-through watermark): box mask. Rendered text measured 0.65-0.94, mostly over 0.75.
MIN_SEPARATION = 0.72
# Each stretch of a long line gets its own background colours: stretches about this many line heights.
STRETCH_HEIGHTS = 3
BACKGROUND_CLUSTERS = 3


@dataclass
class GlyphMask:
    """One line's mask, in the coordinates of the crop ``left, top`` of size ``mask.shape``."""

    left: int
    top: int
    mask: np.ndarray  # bool: the text's pixels, before growing
    sure: bool  # False: the caller should mask the box
    reason: str  # why unsure, or "glyphs"
    contrast: float  # the threshold used (ΔE)
    glyph_fraction: float  # share of the box's pixels taken as text
    stroke_ratio: float  # typical stroke width / line height (nan when no glyphs)
    separation: float = 0.0  # Otsu's between-class share of the distances' variance (0 to 1)


def segment_line(
    lab: np.ndarray, polygon: list[list[float]], height: int, width: int, ring_px: int | None = None
) -> GlyphMask:
    """Glyph pixels of the line with this OCR ``polygon`` in an image given as 8-bit CIELAB (float32)."""
    import cv2

    points = np.asarray(polygon, dtype=np.float64)
    x0, y0 = np.floor(points.min(axis=0)).astype(int)
    x1, y1 = np.ceil(points.max(axis=0)).astype(int)
    line_h = max(2, int(_polygon_height(points)))
    ring = ring_px if ring_px is not None else max(3, round(0.25 * line_h))
    left, top = max(0, x0 - ring), max(0, y0 - ring)
    right, bottom = min(width, x1 + ring + 1), min(height, y1 + ring + 1)
    crop = lab[top:bottom, left:right]
    inside = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(points - [left, top]).astype(np.int32)], 1)
    inside_b = inside.astype(bool)
    # The ring: outside the polygon grown by 2 px (OCR boxes can clip an outline or a descender).
    grown = cv2.dilate(inside, np.ones((5, 5), np.uint8)).astype(bool)
    ring_b = ~grown
    empty = np.zeros(crop.shape[:2], bool)
    if inside_b.sum() < 16 or ring_b.sum() < 16:
        return GlyphMask(left, top, empty, False, "box too small to segment", 0.0, 0.0, float("nan"))

    distance = np.zeros(crop.shape[:2], np.float32)
    stretch = max(8, STRETCH_HEIGHTS * line_h)
    crop_w = crop.shape[1]
    starts = list(range(0, crop_w, stretch))
    if len(starts) > 1 and crop_w - starts[-1] < stretch // 2:
        starts.pop()  # a short last stretch joins the one before it
    for i, start in enumerate(starts):
        end = crop_w if i == len(starts) - 1 else starts[i + 1]
        # Background colours from the ring around this stretch (widened by a line height each side).
        lo, hi = max(0, start - line_h), min(crop_w, end + line_h)
        samples = crop[:, lo:hi][ring_b[:, lo:hi]]
        if len(samples) < 8:
            samples = crop[ring_b]
        centres = _kmeans(samples, BACKGROUND_CLUSTERS)
        part = crop[:, start:end].reshape(-1, 1, 3)
        nearest = np.sqrt(((part - centres[None]) ** 2).sum(axis=2)).min(axis=1)
        distance[:, start:end] = nearest.reshape(crop.shape[0], end - start)

    values = distance[inside_b]
    threshold, separation = _otsu(values)
    threshold = max(MIN_CONTRAST, threshold)
    strong = _drop_specks((distance > threshold) & grown, max(2, line_h // 25))
    # Hysteresis: fainter pixels joined to sure ones (anti-aliased edges, see-through fills) count too.
    weak = (distance > max(MIN_CONTRAST / 2, threshold / 2)) & grown
    glyphs = _joined(weak, strong)
    fraction = float(glyphs[inside_b].mean())
    stroke = stroke_ratio(glyphs, line_h)
    if not glyphs.any() or fraction < MIN_GLYPH_FRACTION:
        return GlyphMask(left, top, glyphs, False, "no text pixels stand out", threshold, fraction, stroke, separation)
    if separation < MIN_SEPARATION:
        return GlyphMask(
            left, top, glyphs, False, "text and background overlap in colour", threshold, fraction, stroke, separation
        )
    if fraction > MAX_GLYPH_FRACTION:
        return GlyphMask(left, top, glyphs, False, "text fills the box", threshold, fraction, stroke, separation)
    return GlyphMask(left, top, glyphs, True, "glyphs", threshold, fraction, stroke, separation)


def stroke_ratio(glyphs: np.ndarray, line_height: float) -> float:
    """The typical stroke width (twice the median distance-to-edge along the strokes' ridges) over the
    line's height. Letters are drawn with strokes; an eye, a coin or a button is a solid shape."""
    import cv2

    if not glyphs.any():
        return float("nan")
    padded = np.pad(glyphs.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)
    # Ridge pixels: local maxima of the distance (the medial axis, roughly).
    ridge = (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & (dist > 0)
    widths = 2.0 * dist[ridge]
    return float(np.median(widths) / max(1.0, line_height)) if widths.size else float("nan")


def to_lab(image: np.ndarray) -> np.ndarray:
    """float RGB [0, 1] → CIELAB as OpenCV's 8-bit scaling (L 0-255, a/b offset 128), float32."""
    import cv2

    pixels = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB).astype(np.float32)


def _polygon_height(points: np.ndarray) -> float:
    """The line's height: the shorter side of its (roughly rectangular) polygon."""
    if len(points) != 4:
        return float(points[:, 1].max() - points[:, 1].min())
    sides = [float(np.hypot(*(points[(i + 1) % 4] - points[i]))) for i in range(4)]
    return min((sides[0] + sides[2]) / 2, (sides[1] + sides[3]) / 2)


def _kmeans(samples: np.ndarray, k: int) -> np.ndarray:
    import cv2

    samples = np.ascontiguousarray(samples.reshape(-1, 3), np.float32)
    k = max(1, min(k, len(samples)))
    if len(samples) > 4000:  # plenty for three colours; deterministic subsample
        samples = samples[:: len(samples) // 4000 + 1]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, _, centres = cv2.kmeans(samples, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    return centres.astype(np.float32)


def _otsu(values: np.ndarray) -> tuple[float, float]:
    """Otsu's threshold of float values and its separation (between-class over total variance, 0 to 1;
    (0, 0) when they are all alike)."""
    if values.size == 0 or float(values.max() - values.min()) < 1e-6:
        return 0.0, 0.0
    hist, edges = np.histogram(values, bins=128)
    hist = hist.astype(np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(hist)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(hist * centres)
    mean0 = sum0 / np.maximum(weight0, 1e-12)
    mean1 = (sum0[-1] - sum0) / np.maximum(weight1, 1e-12)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    best = int(np.argmax(between))
    total = float(values.var()) * values.size * values.size
    return float(centres[best]), float(between[best] / total) if total > 0 else 0.0


def _joined(weak: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """The connected parts of ``weak`` that hold a pixel of ``strong``."""
    import cv2

    count, labels = cv2.connectedComponents((weak | strong).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    return keep[labels]


def _drop_specks(mask: np.ndarray, min_side: int) -> np.ndarray:
    """Remove connected parts smaller than ``min_side`` squared pixels (noise from a textured background)."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_side * min_side
    return keep[labels]
