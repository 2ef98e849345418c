"""S3Storage and S3's AccessDenied on reads.

AWS answers GET/HEAD of a missing key with 403 AccessDenied when the caller lacks
s3:ListBucket; moto answers NoSuchKey whatever the policy, so the missing-key case is
played with botocore's Stubber (S3's real error shapes: GetObject carries the code
``AccessDenied``, HeadObject has no body and carries ``403``). The decision: such a 403
is raised as StorageAccessDenied naming both readings, never turned into NotFound.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from aiorch.storage import NotFound, S3Storage
from aiorch.storage.s3 import StorageAccessDenied


@pytest.fixture
def stubbed() -> Iterator[tuple[S3Storage, Stubber]]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield S3Storage("data", prefix="app", client=client), stubber
        stubber.assert_no_pending_responses()


def test_get_of_a_key_s3_refuses_is_access_denied_naming_both_readings(stubbed) -> None:
    storage, stubber = stubbed
    stubber.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
    with pytest.raises(StorageAccessDenied) as raised:
        storage.get_bytes("results/u/e/j/error.json")
    message = str(raised.value)
    assert "s3://data/app/results/u/e/j/error.json" in message
    assert "s3:ListBucket" in message and "s3:GetObject" in message
    assert not isinstance(raised.value, NotFound)


def test_read_head_and_size_refused_are_access_denied_too(stubbed) -> None:
    storage, stubber = stubbed
    stubber.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
    stubber.add_client_error("head_object", "403", "Forbidden", 403)
    with pytest.raises(StorageAccessDenied, match="GetObject"):
        storage.read_head("uploads/u/1/original.png", 16)
    with pytest.raises(StorageAccessDenied, match="HeadObject"):
        storage.size("uploads/u/1/original.png")


def test_missing_key_answered_404_stays_not_found(stubbed) -> None:
    storage, stubber = stubbed
    stubber.add_client_error("get_object", "NoSuchKey", "gone", 404)
    stubber.add_client_error("head_object", "404", "Not Found", 404)
    with pytest.raises(NotFound):
        storage.get_bytes("results/u/e/j/error.json")
    assert storage.size("results/u/e/j/error.json") is None
