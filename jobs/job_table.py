"""The job table: every job of the registry of operations (aiorch/registry/), with the module that runs
it, the operation whose options and pixel limit apply, and whether it takes a mask."""

from __future__ import annotations

from dataclasses import dataclass

from aiorch.contracts import JobKind, Operation
from aiorch.registry import REGISTRY


@dataclass(frozen=True)
class JobType:
    # The module has run(image, options, progress[, mask=...]) -> OperationOutput.
    module: str
    operation: Operation  # whose option schema and pixel limit apply
    mask: str  # "none", "optional" or "required"


# One entry per job of the registry of operations (aiorch/registry/): each job's module, the operation
# whose options it reads (detect-text: inpaint's) and its mask. The module is imported only when it runs.
JOB_TYPES: dict[str, JobType] = {
    JobKind(kind).value: JobType(job.module, Operation(REGISTRY.schema_owner(kind).name), job.mask)
    for kind, job in REGISTRY.jobs.items()
}
