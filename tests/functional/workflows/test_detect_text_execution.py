"""A detect_text execution over the real local states service, with the real Lambdas and the real
OCR job (rapidocr's packaged models), runs only the OCR job (no Inpaint state, no LaMa) and succeeds with
the boxes in result.json, recorded by RecordResult."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from states_harness import USER, LocalStates, make_settings

from aiorch.contracts import ExecutionStatus
from aiorch.states import states_client
from aiorch.states.history import describe
from aiorch.storage import open_app_storage
from tests.unit.jobs.job_images import WORDS, encoded, photo_with_text
from workflows.local.client import ensure_service, stop_service

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def real_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStates]:
    """The default dispatch (the real Lambda handlers) and the real job CLI, in a cold process per job."""
    settings = make_settings(tmp_path_factory.mktemp("states"), states_dispatch_file=None, job_module="jobs")
    image = encoded(photo_with_text(256))
    open_app_storage(settings).put_bytes(f"uploads/{USER}/up1/original.png", image, "image/png")
    ensure_service(settings, timeout_s=60)
    try:
        yield LocalStates(settings, states_client(settings))
    finally:
        stop_service(settings)


def test_detect_text_runs_only_the_ocr_job_and_records_its_boxes(real_stack: LocalStates) -> None:
    execution_id, arn = real_stack.start("detect_text", min_score=0.5)

    described = real_stack.wait(arn, timeout_s=120)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    states = [s.name for s in describe(real_stack.client, arn).states]
    assert states == ["ValidateInput", "ChooseOperation", "DetectText", "AfterDetectText", "RecordResult", "Succeeded"]
    assert not (real_stack.job_dir(execution_id, "inpaint")).exists()  # no LaMa job ran
    record = real_stack.index.get(USER, execution_id)
    assert record is not None and record.status is ExecutionStatus.SUCCEEDED
    prefix = f"results/{USER}/{execution_id}/detect-text/"
    assert f"{prefix}result.json" in record.result_keys
    report = json.loads((real_stack.job_dir(execution_id, "detect-text") / "result.json").read_text())
    read = " ".join(line["text"].upper() for line in report["lines"])
    assert all(word in read for word in WORDS), read
    for line in report["lines"]:
        x0, y0, x1, y1 = line["box"]
        assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 256 and line["score"] >= 0.5
    assert report["dropped_lines"] == [] or all(d["reason"] for d in report["dropped_lines"])
    assert (report["min_score"], report["dilate_px"]) == (0.5, 8)  # dilate_px: the schema's default
    metadata = json.loads((real_stack.job_dir(execution_id, "detect-text") / "metadata.json").read_text())
    assert metadata["text_lines"] == len(report["lines"]) and metadata["fallback"] is False
