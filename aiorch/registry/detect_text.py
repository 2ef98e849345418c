"""Find text: inpaint's OCR job alone, its boxes shown before anything is filled (a preview offered
inside inpaint's form, not an operation of its own)."""

from __future__ import annotations

from aiorch.registry.inpaint import DETECT_TEXT_JOB, DETECT_TEXT_OPTIONS
from aiorch.registry.spec import OperationDefinition

OPERATION = OperationDefinition(
    name="detect_text",
    position=40,
    label="Find text",
    description="Shows the text OCR finds, boxed, before anything is filled.",
    past_tense="text",
    jobs=[DETECT_TEXT_JOB],
    # The same ranges and defaults as inpaint's OCR options; use_ocr is left out, since without OCR there
    # is nothing to detect, and applies_to ("use_ocr true") with it.
    options=[spec.model_copy(update={"applies_to": None}) for spec in DETECT_TEXT_OPTIONS],
    preview_for="inpaint",  # its pixel limit is inpaint's: the same images
)
