"""Bad options are refused by the API with 400 naming the option, before any execution starts;
GET /operations serves the user options (never the operator settings) with their limits."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from aiorch.analysis import AnalysisService
from aiorch.operations import SCHEMAS, Audience, OptionError, check_options
from aiorch.settings import Settings
from tests.fakes.states import FakeStates
from tests.unit.api.conftest import Upload

# For each operation: (options, the option named, words of the allowed range).
BAD_OPTIONS = {
    "upscale": [
        ({"outscale": 100}, "outscale", "a number greater than 0 and at most 16"),
        ({"tile": "big"}, "tile", "a whole number from 0 to 8192"),
        ({"sharpness": 3}, "sharpness", "unknown option"),
        ({"weights": "/etc/passwd"}, "weights", "operator setting"),
    ],
    "denoise": [
        ({"sigma": 300}, "sigma", "a number from 0 to 255"),
        ({"method": 7}, "method", "one of auto, drunet, bm3d, bm3d-fast, tv, wavelet"),
        ({"strength": 1}, "strength", "unknown option"),
        ({"weights": "/srv/drunet.pth"}, "weights", "operator setting"),
    ],
    "inpaint": [
        ({"dilate_px": -1}, "dilate_px", "a whole number from 0 to 256"),
        ({"use_ocr": "maybe"}, "use_ocr", "true or false"),
        ({"blur": 2}, "blur", "unknown option"),
        ({"weights": "/srv/lama.pt"}, "weights", "operator setting"),
    ],
}
CASES = [(op, *case) for op, cases in BAD_OPTIONS.items() for case in cases]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 100, 50)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("operation", "options", "option", "words"), CASES)
def test_a_bad_option_is_a_400_naming_it_and_starts_nothing(
    client: TestClient,
    alice: dict[str, str],
    upload: Upload,
    states: FakeStates,
    service: AnalysisService,
    operation: str,
    options: dict,
    option: str,
    words: str,
) -> None:
    key = upload(alice, png())
    answer = client.post(
        "/image-ai-analysis", json={"operation": operation, "upload": key, "options": options}, headers=alice
    )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    assert f"option {option!r}" in detail and words in detail
    with pytest.raises(OptionError) as schema_says:  # ValidateInput raises these same words
        check_options(operation, options)
    assert detail == schema_says.value.message
    assert states.executions == {}
    assert service.list_executions("alice", limit=10)[0] == []


def test_a_good_option_still_starts_an_execution(
    client: TestClient, alice: dict[str, str], upload: Upload, states: FakeStates
) -> None:
    key = upload(alice, png())
    body = {"operation": "inpaint", "upload": key, "options": {"dilate_px": 3, "method": "telea", "use_ocr": True}}
    answer = client.post("/image-ai-analysis", json=body, headers=alice)
    assert answer.status_code == 202, answer.text
    assert len(states.executions) == 1


def test_operations_serves_user_options_with_limits_and_no_operator_setting(
    client: TestClient, settings: Settings
) -> None:
    answer = client.get("/operations")  # public: the form is drawn before sign-in completes
    assert answer.status_code == 200, answer.text
    served = {op["name"]: op for op in answer.json()}
    assert set(served) == {operation.value for operation in SCHEMAS}  # every registered operation
    assert {"upscale", "denoise", "inpaint", "detect_text"} <= set(served)
    # detect_text previews inpaint's OCR boxes: the form offers it inside inpaint's, not as an operation.
    assert {name for name, op in served.items() if op["preview_for"]} == {"detect_text"}
    assert served["detect_text"]["preview_for"] == "inpaint"
    for name, schema in SCHEMAS.items():
        op = served[name.value]
        names = [o["name"] for o in op["options"]]
        assert names == schema.names(Audience.user)
        assert not {"weights", "device", "compile"} & set(names)
        assert op["input"]["max_pixels"] == settings.max_pixels(name)
        assert op["input"]["max_bytes"] == settings.upload_max_bytes
    outscale = next(o for o in served["upscale"]["options"] if o["name"] == "outscale")
    assert (outscale["minimum"], outscale["maximum"], outscale["exclusive_minimum"]) == (0, 16, True)
    dilate = next(o for o in served["inpaint"]["options"] if o["name"] == "dilate_px")
    assert dilate["default"] == 8 and dilate["jobs"] == ["detect-text"]
