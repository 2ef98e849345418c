"""Deblur is known everywhere from its one registry module: the enums and job maps, the option checks,
the served document the web form draws, the API's typed request, the state machine and Terraform's job
task list. (Its job's quality is tests/unit/jobs/test_deblur.py's; its run end to end,
tests/functional/cli/test_deblur.py's.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aiorch.contracts import JOBS_FOR_OPERATION, STATE_FOR_JOB, JobKind, Operation
from aiorch.operations import OptionError, check_options, served_operations
from aiorch.settings import Settings
from lambdas.api.app import create_app

REPO = Path(__file__).resolve().parents[3]


def test_deblur_is_an_operation_with_one_job_in_its_own_state() -> None:
    assert JOBS_FOR_OPERATION[Operation("deblur")] == (JobKind("deblur"),)
    assert STATE_FOR_JOB[JobKind("deblur")] == "Deblur"


def test_its_options_are_checked_in_the_schemas_words() -> None:
    assert check_options("deblur", {"blur": "MOTION", "blur_px": 9, "motion_angle": 30}) == {
        "blur": "motion",
        "blur_px": 9.0,
        "motion_angle": 30.0,
    }
    with pytest.raises(OptionError, match=re.escape("option 'blur_px' must be a number from 0.3 to 25 px, not 100")):
        check_options("deblur", {"blur_px": 100})


def test_the_web_form_is_served_its_words_and_choices() -> None:
    (deblur,) = [o for o in served_operations(Settings(), installed={}) if o.name == "deblur"]
    assert (deblur.label, deblur.model_option, deblur.ai_model) == ("Deblur", "method", "DRUNet")
    blur = next(o for o in deblur.options if o.name == "blur")
    assert blur.label == "Blur shape" and set(blur.choice_labels) == {"gaussian", "disk", "motion"}
    assert [m.choice for m in deblur.models] == ["drunet"]


def test_the_api_types_its_request() -> None:
    document = create_app(Settings()).openapi()
    assert "DeblurIn" in document["components"]["schemas"]
    mappings = [
        s["discriminator"]["mapping"] for s in document["components"]["schemas"].values() if "discriminator" in s
    ]
    assert any("deblur" in m for m in mappings)


def test_the_state_machine_and_terraform_have_its_state() -> None:
    definition = json.loads((REPO / "workflows" / "image_ai_analysis.asl.json").read_text())
    branches = {c.get("StringEquals"): c["Next"] for c in definition["States"]["ChooseOperation"]["Choices"]}
    assert branches["deblur"] == "Deblur"
    assert definition["States"]["Deblur"]["Next"] == "RecordResult"
    tasks = json.loads((REPO / "iac" / "envs" / "dev" / "job_tasks.json").read_text())
    assert "Deblur" in tasks["job_tasks"]
