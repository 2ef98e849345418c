"""The option schema (aiorch.operations) against what the jobs really accept, and its checks."""

from __future__ import annotations

import pytest

from aiorch.contracts import Operation
from aiorch.operations import (
    OUTPUT_FORMATS,
    OUTPUT_OPTIONS,
    SCHEMAS,
    UPSCALE_MODELS,
    Audience,
    OptionError,
    check_options,
    schema_for,
)


def default(operation: str, name: str):
    spec = schema_for(operation).option(name)
    assert spec is not None
    return spec.default


def test_upscale_models_are_the_registry_s():
    from jobs.weights.registry import names_for

    assert names_for("upscale") == UPSCALE_MODELS


def test_output_formats_and_quality_are_the_encoder_s():
    from jobs import imageio

    assert sorted(OUTPUT_FORMATS) == sorted(imageio.OUTPUT_FORMATS)
    assert default("upscale", "quality") == imageio.DEFAULT_QUALITY


def test_each_job_takes_exactly_the_schema_s_names():
    from jobs import denoise, inpaint, text_detection, upscale

    assert set(upscale.OPTIONS) == set(schema_for("upscale").names()) - OUTPUT_OPTIONS
    assert set(denoise.OPTIONS) == set(schema_for("denoise").names()) - OUTPUT_OPTIONS
    assert set(inpaint.OPTIONS) == set(text_detection.OPTIONS) == set(schema_for("inpaint").names()) - OUTPUT_OPTIONS


def test_schema_defaults_are_the_jobs_defaults():
    from jobs import inpaint, text_detection, upscale

    upscale_defaults = upscale.UpscaleOptions()
    for name in ("model", "tile", "tile_overlap", "batch", "precision", "compile", "outscale"):
        assert default("upscale", name) == getattr(upscale_defaults, name), name
    # The other jobs keep no defaults of their own: they read the schema's (jobs.options.read_options).
    for module in (inpaint, text_detection):
        assert not [name for name in vars(module) if name.startswith("DEFAULT_")], module.__name__


def test_operator_settings_are_weights_device_compile():
    for schema in SCHEMAS.values():
        operator = set(schema.names(Audience.operator))
        if schema.name is Operation.detect_text:  # the OCR models are the rapidocr wheel's, on onnxruntime's CPU
            assert operator == set()
            continue
        assert operator <= {"weights", "device", "compile"} and "weights" in operator


@pytest.mark.parametrize(
    ("operation", "options", "option", "message"),
    [
        (
            "upscale",
            {"outscale": 0},
            "outscale",
            "must be a number greater than 0 and at most 16 times the input, not 0",
        ),
        ("upscale", {"tile": 12.5}, "tile", "must be a whole number from 0 to 8192 px, not 12.5"),
        ("upscale", {"tile": True}, "tile", "must be a whole number"),
        ("upscale", {"precision": "int8"}, "precision", "must be one of auto, fp16, fp32, not 'int8'"),
        ("upscale", {"model": "nope"}, "model", "must be one of realesr-animevideov3"),
        ("denoise", {"sigma": float("nan")}, "sigma", "must be a number from 0 to 255"),
        ("denoise", {"precision": "half"}, "precision", "must be one of auto, fp16, fp32, not 'half'"),
        ("inpaint", {"min_score": 2}, "min_score", "must be a number from 0 to 1, not 2"),
        ("inpaint", {"device": "cuda"}, "device", "is an operator setting"),
        ("inpaint", {"x" * 5000: 1}, "options", "larger than 4096 bytes"),
    ],
)
def test_refusals_name_the_option_and_its_range(operation, options, option, message):
    with pytest.raises(OptionError) as caught:
        check_options(operation, options)
    assert caught.value.option == option and message in caught.value.message


def test_values_come_back_as_the_jobs_use_them():
    checked = check_options(Operation.upscale, {"tile": 64.0, "precision": "FP16", "outscale": None})
    assert checked == {"tile": 64, "precision": "fp16"}  # null: the job's default
    assert isinstance(checked["tile"], int)


def test_the_operator_may_set_operator_settings_with_checked_values():
    assert check_options("upscale", {"device": "cuda:1", "compile": True}, operator=True) == {
        "device": "cuda:1",
        "compile": True,
    }
    with pytest.raises(OptionError, match="'device' must be text matching"):
        check_options("upscale", {"device": "tpu"}, operator=True)
