"""W7: the compute environments use Batch's service-linked role, not a custom one made in the same apply.

Read from the module's source: under the mock provider `service_role` is a computed attribute
(unknown at plan), and moto needs a stand-in to accept an environment without one
(tests/iac/moto_gaps.py), so neither can show the choice itself. "Using service-linked roles for
AWS Batch" (AWS Batch User Guide): leaving serviceRole out makes Batch use AWSServiceRoleForBatch.
"""

from __future__ import annotations

import re
from pathlib import Path

BATCH = (Path(__file__).resolve().parents[3] / "iac" / "modules" / "batch" / "main.tf").read_text()


def resource_block(kind: str, name: str) -> str:
    start = BATCH.index(f'resource "{kind}" "{name}" {{')
    depth = 0
    for end in range(BATCH.index("{", start), len(BATCH)):
        depth += {"{": 1, "}": -1}.get(BATCH[end], 0)
        if depth == 0:
            return BATCH[start : end + 1]
    raise AssertionError(f"{kind}.{name} never closes")


def test_the_compute_environments_name_no_service_role() -> None:
    block = resource_block("aws_batch_compute_environment", "gpu")
    assert "compute_resources" in block  # the right block was read
    assert not re.search(r"^\s*service_role\s*=", block, re.M)


def test_no_custom_batch_service_role_is_made() -> None:
    assert "AWSBatchServiceRole" not in BATCH
    assert "batch.amazonaws.com" not in BATCH
