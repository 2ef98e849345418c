"""Deblur: DeepInverse's DPIR (HQS with DRUNet as its prior), or TV / wavelet priors without DRUNet's weights
(one job, jobs/deblur.py)."""

from __future__ import annotations

from aiorch.registry.spec import (
    AUTO_LABEL,
    JobDefinition,
    OperationDefinition,
    OptionSpec,
    operator_options,
    output_options,
)

JOB = JobDefinition(kind="deblur", state="Deblur", module="jobs.deblur")
_JOBS = [JOB.kind]

OPERATION = OperationDefinition(
    name="deblur",
    position=25,
    label="Deblur",
    description="DeepInverse undoes a blur you describe; without DRUNet weights it uses a classical prior and says so.",
    past_tense="deblurred",
    jobs=[JOB],
    max_pixels=16_000_000,
    model_option="method",
    model_weights={"drunet": "drunet"},
    ai_model="DRUNet",
    summary_options=["method", "blur", "blur_px"],
    options=[
        OptionSpec(
            name="blur",
            type="choice",
            choices=["gaussian", "disk", "motion"],
            default="gaussian",
            description="The blur's shape: gaussian (soft or slightly out of focus), disk (a defocused lens), "
            "motion (a straight camera shake).",
            jobs=_JOBS,
            label="Blur shape",
            choice_labels={
                "gaussian": "Soft focus (Gaussian)",
                "disk": "Defocused lens (disk)",
                "motion": "Camera shake (straight streak)",
            },
        ),
        OptionSpec(
            name="blur_px",
            type="number",
            minimum=0.3,
            maximum=25,
            default=2.0,
            unit="px",
            description="The blur's size: gaussian: its standard deviation; disk: its radius; motion: the "
            "streak's length.",
            jobs=_JOBS,
            label="Blur size",
        ),
        OptionSpec(
            name="motion_angle",
            type="number",
            minimum=0,
            maximum=180,
            default=0,
            unit="degrees",
            description="The streak's direction, counter-clockwise from horizontal.",
            applies_to="blur motion",
            jobs=_JOBS,
            label="Motion direction",
        ),
        OptionSpec(
            name="method",
            type="choice",
            choices=["auto", "drunet", "tv", "wavelet"],
            default="auto",
            description="The prior: auto: DRUNet when its weights are installed, else total variation, or "
            "wavelet where TV would take over a minute; drunet needs weights.",
            jobs=_JOBS,
            label="Method",
            choice_labels={
                **AUTO_LABEL,
                "drunet": "DRUNet (needs weights)",
                "tv": "Total variation (classical)",
                "wavelet": "Wavelet (classical)",
            },
        ),
        OptionSpec(
            name="noise",
            type="number",
            minimum=0,
            maximum=50,
            default=None,
            unit="0-255 levels",
            description="The photo's noise level (higher: smoother result, less ringing); empty: estimated "
            "from the image, at least 1.",
            jobs=_JOBS,
            label="Noise level",
        ),
        OptionSpec(
            name="iterations",
            type="integer",
            minimum=1,
            maximum=100,
            default=8,
            unit="steps",
            description="Restoration steps (DPIR's 8 suffice for most photos; more: slower, rarely sharper).",
            jobs=_JOBS,
            label="Iterations",
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
        *output_options(_JOBS),
        *operator_options(_JOBS, "DRUNet"),
    ],
)
