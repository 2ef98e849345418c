"""The detect_text operation: inpaint's OCR job run alone, so the web form can draw
the boxes it would mask before inpaint runs. Its options are that job's own specs, its limits inpaint's,
ValidateInput prepares one DetectText job, and the job writes a result.json RecordResult records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aiorch.contracts import JOBS_FOR_OPERATION, JobKind, Operation
from aiorch.operations import OptionError, check_options, schema_for, served_operations
from aiorch.storage import LocalStorage
from lambdas.validate_input.validation import InvalidRequest, validate_request
from tests.unit.lambdas.test_validate_input import USER, request


def test_detect_text_takes_the_ocr_job_s_own_option_specs_without_use_ocr() -> None:
    inpaint, detect = schema_for(Operation.inpaint), schema_for(Operation.detect_text)
    assert detect.names() == ["min_score", "dilate_px"]
    for spec in detect.options:
        same = inpaint.option(spec.name)
        assert same is not None and spec.jobs == same.jobs == [JobKind.detect_text.value]
        assert spec.model_dump(exclude={"applies_to"}) == same.model_dump(exclude={"applies_to"})
    assert detect.jobs == [JobKind.detect_text.value] and not detect.accepts_mask
    assert JOBS_FOR_OPERATION[Operation.detect_text] == (JobKind.detect_text,)
    with pytest.raises(OptionError, match="unknown option 'use_ocr' for detect_text"):
        check_options(Operation.detect_text, {"use_ocr": False})
    checked = {"min_score": 0.3, "dilate_px": 0}
    assert check_options(Operation.detect_text, checked) == checked


def test_it_is_served_as_inpaint_s_preview_with_inpaint_s_limits(settings) -> None:
    served = {op.name: op for op in served_operations(settings)}
    assert served[Operation.detect_text].preview_for is Operation.inpaint
    assert all(op.preview_for is None for name, op in served.items() if name is not Operation.detect_text)
    assert served[Operation.detect_text].input == served[Operation.inpaint].input
    assert settings.max_pixels(Operation.detect_text) == settings.max_pixels(Operation.inpaint)


@pytest.fixture
def uploaded(storage: LocalStorage, photo_png: bytes) -> LocalStorage:
    storage.put_bytes(f"uploads/{USER}/u1/original.png", photo_png)
    return storage


def test_validate_input_prepares_only_the_detect_text_job(uploaded, settings) -> None:
    validated = validate_request(request(operation="detect_text", options={"min_score": 0.4}), uploaded, settings)
    assert list(validated.jobs) == ["DetectText"]
    command = validated.jobs["DetectText"].command
    assert command[0] == "detect-text" and "--mask" not in command
    assert command[command.index("--output") + 1].endswith(f"results/{USER}/01JEXEC/detect-text/")
    assert json.loads(command[command.index("--options") + 1]) == {"min_score": 0.4}


def test_validate_input_refuses_a_mask_for_detect_text(uploaded, settings, photo_png) -> None:
    uploaded.put_bytes(f"uploads/{USER}/m1/original.png", photo_png)
    with pytest.raises(InvalidRequest, match="a mask is only used by the inpaint operation"):
        validate_request(
            request(operation="detect_text", mask_key=f"uploads/{USER}/m1/original.png"), uploaded, settings
        )


def test_the_ocr_job_writes_its_report_as_result_json() -> None:
    from jobs import text_detection
    from jobs.contract import no_progress

    mask = np.zeros((24, 32), bool)
    mask[4:8, 4:8] = True
    output = text_detection.run(np.zeros((24, 32, 3), np.float32), {"use_ocr": False}, no_progress, mask=mask)
    report = json.loads(output.extra_files["result.json"])
    assert output.extra_files["result.json"] == output.extra_files["text.json"]
    assert report["lines"] == [] and report["dropped_lines"] == [] and (report["width"], report["height"]) == (32, 24)
