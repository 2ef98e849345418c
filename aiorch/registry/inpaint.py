"""Remove text: OCR finds the text (jobs/text_detection.py), LaMa or a classical fill removes it and
whatever else was painted (jobs/inpaint.py). One options object for both jobs; each option names its job."""

from __future__ import annotations

from aiorch.registry.spec import (
    AUTO_LABEL,
    JobDefinition,
    OperationDefinition,
    OptionSpec,
    operator_options,
    output_options,
    precision_option,
)

# The OCR job: its --mask (optional) is added to the text mask it writes as mask.png.
DETECT_TEXT_JOB = JobDefinition(kind="detect-text", state="DetectText", module="jobs.text_detection", mask="optional")
INPAINT_JOB = JobDefinition(
    kind="inpaint", state="Inpaint", module="jobs.inpaint", mask="required", mask_from=DETECT_TEXT_JOB.kind
)
_DETECT = [DETECT_TEXT_JOB.kind]
_INPAINT = [INPAINT_JOB.kind]

# The OCR job's own options: detect_text (the preview) offers them too.
DETECT_TEXT_OPTIONS = [
    OptionSpec(
        name="min_score",
        type="number",
        minimum=0,
        maximum=1,
        default=0.5,
        description="OCR lines with a lower confidence are left alone.",
        applies_to="use_ocr true",
        jobs=_DETECT,
        label="Minimum OCR confidence",
    ),
    OptionSpec(
        name="dilate_px",
        type="integer",
        minimum=0,
        maximum=256,
        default=8,
        unit="px",
        description="How far the mask grows around a line of text masked by its box (when its letters "
        "cannot be told from the background); letter-shaped masks grow by at most 1 px.",
        applies_to="use_ocr true",
        jobs=_DETECT,
        label="Grow text mask by",
    ),
]

OPERATION = OperationDefinition(
    name="inpaint",
    position=30,
    label="Remove text",
    description="Finds text with OCR and fills it in; paint over anything else you want removed.",
    past_tense="inpainted",
    jobs=[DETECT_TEXT_JOB, INPAINT_JOB],
    accepts_mask=True,
    max_pixels=40_000_000,
    model_option="method",
    model_weights={"lama": "big-lama"},
    ai_model="LaMa",
    summary_options=["method", "use_ocr"],
    options=[
        OptionSpec(
            name="use_ocr",
            type="boolean",
            default=True,
            description="Find the text with OCR and remove it; off: fill only what you paint.",
            jobs=_DETECT,
            label="Find text with OCR",
        ),
        *DETECT_TEXT_OPTIONS,
        OptionSpec(
            name="method",
            type="choice",
            choices=["auto", "lama", "telea"],
            default="auto",
            description="auto: LaMa when its weights are installed, else OpenCV FSR (contrib) or Telea; "
            "lama needs weights.",
            jobs=_INPAINT,
            label="Method",
            choice_labels={**AUTO_LABEL, "lama": "LaMa (needs weights)", "telea": "OpenCV Telea (classical)"},
        ),
        OptionSpec(
            name="context_px",
            type="integer",
            minimum=8,
            maximum=4096,
            default=128,
            unit="px",
            description="Surroundings cropped with each masked region.",
            jobs=_INPAINT,
            label="Context around each region",
        ),
        OptionSpec(
            name="radius",
            type="integer",
            minimum=1,
            maximum=64,
            default=5,
            unit="px",
            description="Neighbourhood the Telea inpainter draws from.",
            applies_to="method telea",
            jobs=_INPAINT,
            label="Telea radius",
        ),
        OptionSpec(
            name="max_side",
            type="integer",
            minimum=32,
            maximum=8192,
            default=1024,
            unit="px",
            description="LaMa fills each crop at most this large (longest side), then scales it back.",
            applies_to="method lama",
            jobs=_INPAINT,
            label="LaMa crop size",
        ),
        precision_option(_INPAINT),
        *output_options(_INPAINT),
        *operator_options(_INPAINT, "LaMa"),
    ],
)
