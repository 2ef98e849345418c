"""Browser links to S3 are SigV4 on the bucket's regional virtual-hosted endpoint (issue B1).

moto accepts SigV2 links and answers any region on any host, so it cannot show the failure; these
tests read the generated URL and POST fields themselves. What AWS enforces:
- S3 refuses SigV2 on buckets created after 24 June 2020 ("AWS Signature Version 2 turned off
  (deprecated) for Amazon S3",
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingAWSSDK.html#UsingAWSSDK-sig2-deprecation;
  S3 API Reference, "Appendix: Authenticating requests (AWS signature version 2)",
  https://docs.aws.amazon.com/AmazonS3/latest/API/Appendix-Sigv2.html).
- A presigned POST is signed with the x-amz-algorithm / x-amz-credential / x-amz-date /
  x-amz-signature form fields ("Browser-Based Uploads Using POST (AWS Signature Version 4)",
  https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-UsingHTTPPOST.html), and a presigned
  GET with the X-Amz-* query ("Authenticating Requests: Using Query Parameters (AWS Signature
  Version 4)", https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html).
- A request to the global or another region's endpoint is redirected (307) or refused (400)
  (S3 API Reference, "Request routing", https://docs.aws.amazon.com/AmazonS3/latest/API/UsingRouting.html).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from aiorch.settings import Settings
from aiorch.storage import S3Storage, open_uri
from lambdas.api.transfers import LinkSigner, Transfers

BUCKET = "aiorch-data"


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def assert_sigv4_get(url: str, region: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == f"{BUCKET}.s3.{region}.amazonaws.com", url
    query = parse_qs(parts.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].split("/")[2:] == [region, "s3", "aws4_request"]
    assert "X-Amz-Signature" in query and "X-Amz-Date" in query
    assert "AWSAccessKeyId" not in query and "Signature" not in query  # SigV2


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_presigned_get_is_sigv4_on_the_regional_virtual_host(region: str) -> None:
    storage = S3Storage(BUCKET, prefix="env1", region=region)
    url = storage.presigned_get("uploads/alice/U1/original.png")
    assert_sigv4_get(url, region)
    assert urlsplit(url).path == "/env1/uploads/alice/U1/original.png"


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_the_apis_upload_post_and_download_link_are_sigv4_on_the_regional_host(region: str, settings: Settings) -> None:
    storage = S3Storage(BUCKET, prefix="env1", region=region)
    transfers = Transfers(settings, storage, LinkSigner(settings))

    target = transfers.upload_target("alice", "image/png", "https://app.example")
    assert target.url == f"https://{BUCKET}.s3.{region}.amazonaws.com/"
    fields = target.fields
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-credential"].split("/")[2:] == [region, "s3", "aws4_request"]
    assert {"x-amz-date", "x-amz-signature", "policy", "key"} <= set(fields)
    assert "AWSAccessKeyId" not in fields and "signature" not in fields  # SigV2

    link = transfers.download_url("alice", "results/alice/E1/J1/result.png", "https://app.example", "cat.png")
    assert_sigv4_get(link, region)
    assert "response-content-disposition" in parse_qs(urlsplit(link).query)


def test_job_storage_opened_from_a_uri_is_signed_for_the_given_region() -> None:
    storage, key = open_uri(f"s3://{BUCKET}/results/alice/E1/J1/", region="eu-west-1")
    assert isinstance(storage, S3Storage) and key == "results/alice/E1/J1/"
    assert storage.client.meta.region_name == "eu-west-1"
    assert storage.client.meta.endpoint_url == "https://s3.eu-west-1.amazonaws.com"
    assert storage.client.meta.config.signature_version == "s3v4"


def test_a_configured_endpoint_keeps_its_host_and_still_signs_sigv4() -> None:
    storage = S3Storage(BUCKET, endpoint_url="http://127.0.0.1:9000", region="eu-west-1")
    url = storage.presigned_get("uploads/alice/U1/original.png")
    assert urlsplit(url).netloc == "127.0.0.1:9000"
    assert parse_qs(urlsplit(url).query)["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
