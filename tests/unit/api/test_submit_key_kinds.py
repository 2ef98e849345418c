"""Submit checks the kind of each key it is given: an upload's own name.json is the user's and exists, a
mask on an operation that reads none is well formed, and both used to be accepted (202) and then failed
by ValidateInput, where the user learnt it only by polling. Both are refused at submit (422), in words
that name what is wrong, and nothing starts."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from aiorch import keys
from aiorch.analysis import AnalysisService
from aiorch.analysis.names import original_name_key
from aiorch.contracts import Operation
from aiorch.operations import schema_for
from lambdas.api.openapi_doc import variant_name
from tests.unit.api.conftest import Upload

SUBMIT = "/image-ai-analysis"


def assert_refused(response: Any, *words: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


def test_an_uploads_name_file_as_the_image_is_refused_at_submit(
    client: TestClient, service: AnalysisService, alice: dict[str, str], upload: Upload, photo_png: bytes
) -> None:
    image = upload(alice, photo_png)
    assert service.remember_original_name(image, "holiday.png") == "holiday.png"
    name_file = original_name_key(image)
    assert service.storage.exists(name_file)  # the user's own file: the service alone would accept it

    refused = client.post(SUBMIT, json={"operation": "denoise", "upload": name_file}, headers=alice)
    assert_refused(refused, "the upload", "'name.json' is a file the upload keeps beside its image", "/original.")
    batch = client.post(SUBMIT, json={"operation": "denoise", "uploads": [image, name_file]}, headers=alice)
    assert_refused(batch, "the upload", "name.json")
    as_mask = client.post(SUBMIT, json={"operation": "inpaint", "upload": image, "mask": name_file}, headers=alice)
    assert_refused(as_mask, "the mask", "name.json")
    assert client.get(SUBMIT, headers=alice).json()["items"] == []  # nothing started

    assert client.post(SUBMIT, json={"operation": "denoise", "upload": image}, headers=alice).status_code == 202


def test_a_key_of_the_users_that_is_no_uploads_image_is_refused_in_words(
    client: TestClient, alice: dict[str, str]
) -> None:
    refused = client.post(
        SUBMIT, json={"operation": "denoise", "upload": "results/alice/x/denoise/r.png"}, headers=alice
    )
    assert_refused(refused, "is not an uploaded image", "uploads/<user>/<upload>/original.<extension>")


def test_another_users_name_file_stays_the_404_of_any_key_not_yours(
    client: TestClient, alice: dict[str, str], bob: dict[str, str], upload: Upload, photo_png: bytes
) -> None:
    name_file = upload(alice, photo_png).rsplit("/", 1)[0] + "/name.json"
    refused = client.post(SUBMIT, json={"operation": "denoise", "upload": name_file}, headers=bob)
    assert refused.status_code == 404, refused.text


@pytest.mark.parametrize("operation", [o for o in Operation if not schema_for(o).accepts_mask])
def test_a_mask_for_an_operation_that_takes_none_is_refused_naming_the_field(
    client: TestClient, alice: dict[str, str], upload: Upload, photo_png: bytes, operation: Operation
) -> None:
    image = upload(alice, photo_png)
    mask = upload(alice, photo_png)
    refused = client.post(SUBMIT, json={"operation": operation.value, "upload": image, "mask": mask}, headers=alice)
    body = assert_refused(refused, "mask", f"{operation.value} takes no mask (only inpaint does)")
    assert [e["field"] for e in body["errors"]] == ["mask"]
    assert client.get(SUBMIT, headers=alice).json()["items"] == []


def test_a_mask_for_inpaint_is_still_taken(
    client: TestClient, alice: dict[str, str], upload: Upload, photo_png: bytes
) -> None:
    image, mask = upload(alice, photo_png), upload(alice, photo_png)
    accepted = client.post(SUBMIT, json={"operation": "inpaint", "upload": image, "mask": mask}, headers=alice)
    assert accepted.status_code == 202, accepted.text


def test_the_submit_document_offers_a_mask_only_where_the_operation_takes_one(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for operation in Operation:
        variant = schemas[variant_name(operation)]
        assert ("mask" in variant["properties"]) is schema_for(operation).accepts_mask, operation


def test_the_key_rule_knows_an_uploads_image_by_its_form() -> None:
    image = keys.upload_key("alice", "01ABC", "png")
    assert keys.upload_image_problem(image) is None
    assert keys.upload_image_problem("uploads/alice/01ABC/name.json")
    assert keys.upload_image_problem("uploads/alice/01ABC/original.")
    assert keys.upload_image_problem("uploads/alice/01ABC/x/original.png")
    long_name = "uploads/alice/01ABC/" + "n" * 200 + ".json"
    assert len(keys.upload_image_problem(long_name) or "") < 300  # quoted shortened
