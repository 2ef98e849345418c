"""CloudFront sends the app's own Content-Security-Policy (H10).

The local server adds the core's policy (aiorch/web_headers.py) to every answer; in AWS the front end's
pages come from S3 through CloudFront, whose response headers policy (iac/modules/frontend) reads its
text from ``content_security_policy.tftpl``. This test holds the template equal to the core's text for
the origin presigned S3 links point at in AWS, so the two cannot drift. CloudFront: "Understand response
headers policies" (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-response-headers-policies.html).
"""

from __future__ import annotations

import re
from pathlib import Path

from aiorch.settings import Settings
from aiorch.web_headers import content_security_policy, storage_origin

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "iac" / "modules" / "frontend" / "content_security_policy.tftpl"
DEV_MAIN = REPO / "iac" / "envs" / "dev" / "main.tf"


def rendered(origin: str) -> str:
    """The template as Terraform renders it: templatefile() with storage_origin, then trimspace()."""
    return TEMPLATE.read_text(encoding="utf-8").replace("${storage_origin}", origin).strip()


def test_cloudfronts_policy_is_the_cores_for_the_deployed_storage_origin(tmp_path: Path) -> None:
    # As iac/envs/dev configures the functions: storage on S3, no custom endpoint.
    settings = Settings(data_dir=tmp_path, storage_url="s3://aiorch-dev-111122223333-data", aws_region="eu-west-1")
    origin = storage_origin(settings)
    assert origin == "https://aiorch-dev-111122223333-data.s3.eu-west-1.amazonaws.com"
    assert rendered(origin) == content_security_policy(origin)
    assert "frame-ancestors 'none'" in rendered(origin)


def test_the_template_has_no_other_placeholder() -> None:
    assert set(re.findall(r"\$\{(\w+)\}", TEMPLATE.read_text(encoding="utf-8"))) == {"storage_origin"}


def test_the_dev_environment_gives_cloudfront_the_origin_the_core_derives() -> None:
    """iac/envs/dev passes https://<data bucket>.s3.<region>.amazonaws.com, the shape storage_origin() builds."""
    text = DEV_MAIN.read_text(encoding="utf-8")
    assert 'storage_origin = "https://${module.storage.data_bucket}.s3.${var.region}.amazonaws.com"' in text
