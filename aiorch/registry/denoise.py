"""Denoise: DeepInverse's DRUNet, or a classical denoiser without its weights (one job, jobs/denoise.py)."""

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

JOB = JobDefinition(kind="denoise", state="Denoise", module="jobs.denoise")
_JOBS = [JOB.kind]

OPERATION = OperationDefinition(
    name="denoise",
    position=20,
    label="Denoise",
    description="DeepInverse removes noise; without DRUNet weights it uses a classical denoiser and says so.",
    past_tense="denoised",
    jobs=[JOB],
    max_pixels=40_000_000,
    model_option="method",
    model_weights={"drunet": "drunet"},
    ai_model="DRUNet",
    summary_options=["method", "sigma"],
    options=[
        OptionSpec(
            name="method",
            type="choice",
            choices=["auto", "drunet", "bm3d", "bm3d-fast", "tv", "wavelet"],
            default="auto",
            description="auto: DRUNet when its weights are installed, else colour BM3D (bm3d-fast), or wavelet "
            "where that would take over a minute; drunet needs weights; bm3d: BM3D's full search (slow).",
            jobs=_JOBS,
            label="Method",
            choice_labels={
                **AUTO_LABEL,
                "drunet": "DRUNet (needs weights)",
                "bm3d": "BM3D (classical)",
                "tv": "Total variation (classical)",
                "wavelet": "Wavelet (classical)",
            },
        ),
        OptionSpec(
            name="sigma",
            type="number",
            minimum=0,
            maximum=255,
            default=None,
            unit="0-255 levels",
            description="Noise level; empty: estimated from the image.",
            jobs=_JOBS,
            label="Noise level",
        ),
        OptionSpec(
            name="tile",
            type="integer",
            minimum=0,
            maximum=16384,
            default=0,
            unit="px",
            description="Tile side in pixels; 0: automatic per method.",
            jobs=_JOBS,
            label="Tile size",
        ),
        precision_option(_JOBS),
        *output_options(_JOBS),
        *operator_options(_JOBS, "DRUNet"),
    ],
)
