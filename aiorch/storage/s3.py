from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore.exceptions import ClientError

from aiorch.storage.base import NotFound, Storage, check_key


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Storage(Storage):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def _k(self, key: str) -> str:
        return self.prefix + check_key(key)

    def get_bytes(self, key: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self._k(key))["Body"].read())
        except ClientError as exc:
            if _code(exc) in {"NoSuchKey", "404"}:
                raise NotFound(key) from exc
            raise

    def read_head(self, key: str, size: int) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._k(key), Range=f"bytes=0-{size - 1}")
            return bytes(obj["Body"].read())
        except ClientError as exc:
            if _code(exc) in {"NoSuchKey", "404"}:
                raise NotFound(key) from exc
            if _code(exc) == "InvalidRange":  # empty object
                return b""
            raise

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=data, **extra)

    def put_if_absent(self, key: str, data: bytes, content_type: str | None = None) -> bool:
        extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
        try:
            # S3 conditional write: fails with 412 when the key already exists.
            self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=data, IfNoneMatch="*", **extra)
            return True
        except ClientError as exc:
            if _code(exc) in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                return False
            raise

    def size(self, key: str) -> int | None:
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self._k(key))["ContentLength"])
        except ClientError as exc:
            if _code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise

    def list(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(self.prefix) :]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._k(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._k(key)}"

    def presigned_get(self, key: str, expires_s: int = 900) -> str:
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._k(key)}, ExpiresIn=expires_s
            )
        )
