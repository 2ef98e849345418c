from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from aiorch.storage.base import NotFound, Storage, check_key


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


_ACCESS_DENIED = {"AccessDenied", "403", "Forbidden"}


class StorageAccessDenied(PermissionError):
    """S3 refused a read: the caller may not read the key, or the key is missing.

    S3 answers a GET/HEAD of a missing key with 403 instead of 404 when the caller lacks
    ``s3:ListBucket`` on the bucket (AWS: GetObject, "Permissions"). The two cases cannot
    be told apart from the answer, so this is deliberately *not* turned into ``NotFound``
    (that would hide a real permission gap, e.g. a role missing GetObject, behind
    "no such file"): it is raised with both readings in the message. Roles that read keys
    which may be missing are granted ``s3:ListBucket`` for those prefixes, so they get 404.
    """

    def __init__(self, bucket: str, key: str, operation: str) -> None:
        super().__init__(
            f"S3 denied {operation} of s3://{bucket}/{key} (AccessDenied): either the caller lacks "
            "s3:GetObject on it, or the key does not exist and the caller lacks s3:ListBucket for "
            "its prefix (S3 then answers 403, not 404)"
        )
        self.bucket = bucket
        self.key = key


DEFAULT_REGION = "us-east-1"


def s3_client(*, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """Every S3 client of the product: SigV4 on the region's own virtual-hosted endpoint.

    botocore 1.44 still signs presigned URLs and POST policies with SigV2 when no
    ``signature_version`` is given, on the global ``bucket.s3.amazonaws.com`` host. S3 refuses
    SigV2 on buckets created after 24 June 2020 (S3 API Reference, "Appendix: Authenticating
    requests (AWS signature version 2)", https://docs.aws.amazon.com/AmazonS3/latest/API/Appendix-Sigv2.html,
    and "AWS Signature Version 2 turned off (deprecated) for Amazon S3",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingAWSSDK.html#UsingAWSSDK-sig2-deprecation),
    and a request on another region's (or the global) endpoint gets a 307 Temporary Redirect,
    or a 400 in regions launched after 20 March 2019 (S3 API Reference, "Request routing",
    https://docs.aws.amazon.com/AmazonS3/latest/API/UsingRouting.html). So: SigV4 always, on
    ``https://<bucket>.s3.<region>.amazonaws.com`` unless an endpoint (MinIO, moto) is
    configured, which then keeps its own addressing.
    """
    region = region or boto3.session.Session().region_name or DEFAULT_REGION
    if endpoint_url:
        config = Config(signature_version="s3v4")
    else:
        endpoint_url = f"https://s3.{region}.amazonaws.com"
        config = Config(signature_version="s3v4", s3={"addressing_style": "virtual"})
    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)


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
        self.client = client or s3_client(region=region, endpoint_url=endpoint_url)

    def _k(self, key: str) -> str:
        return self.prefix + check_key(key)

    def get_bytes(self, key: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self._k(key))["Body"].read())
        except ClientError as exc:
            if _code(exc) in {"NoSuchKey", "404"}:
                raise NotFound(key) from exc
            if _code(exc) in _ACCESS_DENIED:
                raise StorageAccessDenied(self.bucket, self._k(key), "GetObject") from exc
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
            if _code(exc) in _ACCESS_DENIED:
                raise StorageAccessDenied(self.bucket, self._k(key), "GetObject") from exc
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
            if _code(exc) in _ACCESS_DENIED:
                raise StorageAccessDenied(self.bucket, self._k(key), "HeadObject") from exc
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
