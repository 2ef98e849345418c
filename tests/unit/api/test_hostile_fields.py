"""Well-formed but hostile request fields answer a 4xx problem, never a 500 or a reset connection:
an integer of hundreds of digits (math.isfinite raised OverflowError), an upload key too long for a
file name (ENAMETOOLONG), a key with a NUL byte (ValueError). One rule per kind of field holds in
the core (aiorch/fields.py); hypothesis throws huge integers and long or control-character strings
at every field of a submit."""

from __future__ import annotations

import json
from typing import Any

import hypothesis
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, strategies

from aiorch.fields import MAX_MAGNITUDE, bounded_number, key_problem, shown
from aiorch.operations import OptionError, check_options
from aiorch.storage import LocalStorage
from tests.unit.api.conftest import Upload

SUBMIT = "/image-ai-analysis"


def assert_problem_4xx(answer: Any) -> dict[str, Any]:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == answer.status_code and body["detail"]
    assert len(answer.text) < 4000  # a huge value is not echoed back whole
    return body


def submit_raw(client: TestClient, headers: dict[str, str], body: str) -> Any:
    return client.post(SUBMIT, content=body.encode(), headers=headers | {"Content-Type": "application/json"})


def test_an_option_of_four_hundred_digits_is_a_400(
    client: TestClient, alice: dict[str, str], upload: Upload, photo_png: bytes
) -> None:
    key = upload(alice, photo_png)
    body = '{"operation": "upscale", "upload": "' + key + '", "options": {"tile": 1' + "0" * 400 + "}}"
    problem = assert_problem_4xx(submit_raw(client, alice, body))
    assert "tile" in problem["detail"] and "digits" in problem["detail"]


def user_prefix(upload: Upload, headers: dict[str, str], photo_png: bytes) -> str:
    """``uploads/<user>/`` of the signed-in user (a key must be under it to reach storage)."""
    return "/".join(upload(headers, photo_png).split("/")[:2]) + "/"


def test_an_upload_key_of_a_thousand_characters_is_a_4xx(
    client: TestClient, alice: dict[str, str], upload: Upload, photo_png: bytes
) -> None:
    prefix = user_prefix(upload, alice, photo_png)
    key = prefix + "a" * (1000 - len(prefix))
    problem = assert_problem_4xx(client.post(SUBMIT, json={"operation": "upscale", "upload": key}, headers=alice))
    assert "longer than" in problem["detail"]
    batch = client.post(SUBMIT, json={"operation": "upscale", "uploads": [key]}, headers=alice)
    assert_problem_4xx(batch)


def test_an_upload_key_with_a_nul_byte_is_a_4xx(
    client: TestClient, alice: dict[str, str], upload: Upload, photo_png: bytes
) -> None:
    key = user_prefix(upload, alice, photo_png) + "x\x00/original.png"
    problem = assert_problem_4xx(client.post(SUBMIT, json={"operation": "upscale", "upload": key}, headers=alice))
    assert "control character" in problem["detail"]


def test_a_mask_key_with_a_nul_byte_is_a_4xx(
    client: TestClient, alice: dict[str, str], upload: Upload, photo_png: bytes
) -> None:
    key = upload(alice, photo_png)
    assert_problem_4xx(
        client.post(SUBMIT, json={"operation": "inpaint", "upload": key, "mask": f"{key}\x00"}, headers=alice)
    )


def test_local_storage_calls_an_impossible_key_absent_or_invalid(storage: LocalStorage) -> None:
    assert storage.exists("uploads/alice/" + "a/" * 300 + "b" * 250) is False  # deep but legal: simply absent
    with pytest.raises(ValueError, match="longer than"):
        storage.exists("uploads/alice/" + "a" * 1000)
    with pytest.raises(ValueError, match="control character"):
        storage.exists("uploads/alice/a\x00b")


def test_the_rules_themselves() -> None:
    assert bounded_number(MAX_MAGNITUDE) == MAX_MAGNITUDE and bounded_number(-MAX_MAGNITUDE) == -MAX_MAGNITUDE
    assert bounded_number(MAX_MAGNITUDE + 1) is None and bounded_number(10**400) is None
    assert bounded_number(float("inf")) is None and bounded_number(float("nan")) is None
    assert bounded_number(True) is None and bounded_number("1") is None
    assert key_problem("uploads/a/b.png") is None
    assert key_problem("uploads/a/" + "é" * 200)  # 400 bytes in one part
    assert key_problem("a\nb") and key_problem("")
    assert len(shown(10**5000)) < 80 and len(shown("x" * 10_000)) < 80  # str() of the first would raise


# --- hypothesis: huge integers, long strings and control characters in every field of a submit --------
huge_integers = strategies.one_of(
    strategies.integers(min_value=MAX_MAGNITUDE + 1, max_value=10**4000),
    strategies.integers(min_value=-(10**4000), max_value=-(MAX_MAGNITUDE + 1)),
)
hostile_text = strategies.one_of(
    strategies.text(min_size=256, max_size=3000),
    strategies.text(alphabet=strategies.characters(max_codepoint=0x1F), min_size=1, max_size=20),
    strategies.builds(
        lambda a, c, b: f"uploads/alice/{a}{c}{b}",
        strategies.text(max_size=20),
        strategies.characters(max_codepoint=0x1F),
        strategies.text(max_size=20),
    ),
)
hostile = strategies.one_of(huge_integers, hostile_text)
FIELDS = ["upload", "mask", "uploads", "operation", "option value", "option name"]


@hypothesis.settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@hypothesis.given(field=strategies.sampled_from(FIELDS), value=hostile)
def test_hostile_values_in_any_submit_field_answer_a_4xx_problem(
    client: TestClient, alice: dict[str, str], field: str, value: Any
) -> None:
    body: dict[str, Any] = {"operation": "inpaint", "upload": "uploads/alice/u1/original.png"}
    if field in ("upload", "mask", "operation"):
        body[field] = value
    elif field == "uploads":
        body = {"operation": "upscale", "uploads": [value]}
    elif field == "option value":
        body["options"] = {"tile": value}
    else:
        body["options"] = {str(value): 1}
    text = json.dumps(body, default=str) if not isinstance(value, int) else _json_with_int(body)
    answer = submit_raw(client, alice, text)
    assert_problem_4xx(answer)


def _json_with_int(body: dict[str, Any]) -> str:
    """JSON with a huge integer written out (Python refuses to write integers over 4,300 digits by default)."""
    import sys

    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return json.dumps(body)
    finally:
        sys.set_int_max_str_digits(limit)


@hypothesis.settings(max_examples=200, deadline=None, database=None)
@hypothesis.given(value=strategies.one_of(huge_integers, strategies.floats(), hostile_text))
def test_every_option_refuses_hostile_values_with_an_option_error(value: Any) -> None:
    for operation in ("upscale", "denoise", "inpaint"):
        from aiorch.operations import schema_for

        for spec in schema_for(operation).options:
            try:
                check_options(operation, {spec.name: value}, operator=True)
            except OptionError as exc:
                assert len(exc.message) < 1000


@pytest.mark.parametrize("where", ["options", "operation"])
def test_an_integer_too_long_for_python_to_read_is_a_400(client: TestClient, alice: dict[str, str], where: str) -> None:
    digits = "1" + "0" * 5000  # over the 4,300 digits Python converts by default
    if where == "options":
        body = (
            '{"operation": "upscale", "upload": "uploads/alice/u1/original.png", "options": {"tile": ' + digits + "}}"
        )
    else:
        body = '{"operation": ' + digits + ', "upload": "uploads/alice/u1/original.png"}'
    assert_problem_4xx(submit_raw(client, alice, body))
