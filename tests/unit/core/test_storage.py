"""The storage interface: the local directory and S3 behave the same."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from aiorch.storage import LocalStorage, NotFound, S3Storage, Storage, open_storage, open_uri


@pytest.fixture(params=["local", "s3"])
def any_storage(request: pytest.FixtureRequest, tmp_path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "store")
        return
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="data")
        yield S3Storage("data", prefix="app", region="us-east-1")


def test_put_get_list_delete(any_storage: Storage) -> None:
    any_storage.put_bytes("uploads/u/1/original.png", b"abc")
    any_storage.put_json("executions/u/1.json", {"x": 1})
    assert any_storage.get_bytes("uploads/u/1/original.png") == b"abc"
    assert any_storage.read_head("uploads/u/1/original.png", 2) == b"ab"
    assert any_storage.get_json("executions/u/1.json") == {"x": 1}
    assert any_storage.size("uploads/u/1/original.png") == 3
    assert sorted(any_storage.list("uploads/u/")) == ["uploads/u/1/original.png"]
    assert list(any_storage.list("nothing/")) == []
    any_storage.delete("uploads/u/1/original.png")
    assert not any_storage.exists("uploads/u/1/original.png")
    with pytest.raises(NotFound):
        any_storage.get_bytes("uploads/u/1/original.png")


def test_put_if_absent_creates_once(any_storage: Storage) -> None:
    assert any_storage.put_if_absent("idempotency/u/k.json", b"first") is True
    assert any_storage.put_if_absent("idempotency/u/k.json", b"second") is False
    assert any_storage.get_bytes("idempotency/u/k.json") == b"first"


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a/./b", "a\\b"])
def test_unsafe_keys_are_refused(any_storage: Storage, key: str) -> None:
    with pytest.raises(ValueError):
        any_storage.put_bytes(key, b"x")


def test_local_uri_round_trips_through_open_uri(tmp_path) -> None:
    store = LocalStorage(tmp_path / "store")
    store.put_bytes("results/u/e/job/result.png", b"png")
    storage, key = open_uri(store.uri("results/u/e/job/result.png"))
    assert storage.get_bytes(key) == b"png"
    prefix_storage, prefix = open_uri(store.uri("results/u/e/job/"))
    assert prefix == "job/"
    assert prefix_storage.get_bytes(prefix + "result.png") == b"png"


def test_s3_uri_and_open_storage() -> None:
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="data")
        store = open_storage("s3://data/pre", region="us-east-1")
        store.put_bytes("uploads/u/1/original.png", b"abc")
        assert store.uri("uploads/u/1/original.png") == "s3://data/pre/uploads/u/1/original.png"
        storage, key = open_uri(store.uri("uploads/u/1/original.png"))
        assert storage.get_bytes(key) == b"abc"


def test_local_storage_is_durable_across_instances(tmp_path) -> None:
    LocalStorage(tmp_path / "s").put_bytes("executions/u/e.json", b"{}")
    assert LocalStorage(tmp_path / "s").get_bytes("executions/u/e.json") == b"{}"


def test_open_uri_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="unsupported URI"):
        open_uri("http://example.invalid/x")
