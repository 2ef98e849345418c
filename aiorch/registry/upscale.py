"""Upscale: Real-ESRGAN makes the image larger and sharper (one job, jobs/upscale.py)."""

from __future__ import annotations

from aiorch.registry.spec import (
    JobDefinition,
    OperationDefinition,
    OptionSpec,
    operator_options,
    output_options,
    precision_option,
)

JOB = JobDefinition(kind="upscale", state="Upscale", module="jobs.upscale")
_JOBS = [JOB.kind]

# The upscale models of jobs.weights.registry (task "upscale"), by name (a unit test holds the two equal).
UPSCALE_MODELS = [
    "realesr-animevideov3",
    "realesr-animevideov3-x2",
    "realesr-animevideov3-x3",
    "realesr-general-x4v3",
    "realesrgan-x4plus",
    "realesrgan-x4plus-anime",
    "realesrgan-x4plus-pth",
]

OPERATION = OperationDefinition(
    name="upscale",
    position=10,
    label="Upscale",
    description="Real-ESRGAN makes the image four times larger and sharper.",
    past_tense="upscaled",
    jobs=[JOB],
    max_pixels=4_000_000,
    model_option="model",
    model_weights={name: name for name in UPSCALE_MODELS},
    ai_model="Real-ESRGAN",
    summary_options=["model", "outscale"],
    options=[
        OptionSpec(
            name="model",
            type="choice",
            choices=UPSCALE_MODELS,
            default="realesrgan-x4plus",
            description="The super-resolution model.",
            jobs=_JOBS,
            label="Model",
            choice_labels={
                "realesrgan-x4plus": "Photos (Real-ESRGAN x4plus)",
                "realesrgan-x4plus-anime": "Drawings and anime (x4plus anime)",
                "realesr-animevideov3": "Fast, small model (animevideo v3)",
            },
        ),
        OptionSpec(
            name="outscale",
            type="number",
            minimum=0,
            exclusive_minimum=True,
            maximum=16,
            default=None,
            unit="times the input",
            description="Final scale relative to the input; empty: the model's own scale.",
            jobs=_JOBS,
            label="Final scale",
        ),
        OptionSpec(
            name="tile",
            type="integer",
            minimum=0,
            maximum=8192,
            default=0,
            unit="px",
            description="Tile side in input pixels; 0: automatic (512 on a GPU, 128 on the CPU).",
            jobs=_JOBS,
            label="Tile size",
        ),
        OptionSpec(
            name="tile_overlap",
            type="integer",
            minimum=0,
            maximum=256,
            default=32,
            unit="px",
            description="Input pixels shared by neighbouring tiles (hides seams).",
            jobs=_JOBS,
            label="Tile overlap",
        ),
        OptionSpec(
            name="batch",
            type="integer",
            minimum=0,
            maximum=256,
            default=0,
            unit="tiles",
            description="Tiles per forward pass; 0: automatic.",
            jobs=_JOBS,
            label="Tiles per pass",
        ),
        precision_option(_JOBS),
        *output_options(_JOBS),
        *operator_options(_JOBS, "super-resolution model", compile_=True),
    ],
)
