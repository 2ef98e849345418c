"""Where a running execution is, written to its index record by the steps themselves.

A status poll reads the record and the job's progress.json and never a Step Functions read API
(DescribeExecution, GetExecutionHistory: rate-limited, and one call per poll does not scale). So each
step says where the execution is when it gets there:

- submit: ``ValidateInput`` / "queued to validate" (the state Step Functions enters first);
- ValidateInput: ``ValidateInput`` / "validating";
- a job submitted (the local hooks; in AWS Batch's SUBMITTED…RUNNABLE state change): its state /
  "queued for a GPU"; a job started (RUNNING): its state / "running <job>";
- RecordResult / RecordFailure: ``RecordResult`` / ``RecordFailure`` / "recording".

A stage write never fails the step that makes it: it is logged, and the poll shows the last one written.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aiorch.contracts import STATE_FOR_JOB, JobKind

if TYPE_CHECKING:
    from aiorch.index.base import ExecutionIndex

log = logging.getLogger("aiorch.index")

QUEUED_TO_VALIDATE = "queued to validate"
VALIDATING = "validating"
QUEUED_FOR_GPU = "queued for a GPU"
RECORDING = "recording"
BATCH_JOB_STATE = "ChunkJob"  # the Batch task of a batch's chunks (the ASL's RunChunks → ChunkJobs)

# The environment the ASL gives every Batch job, so whoever sees the job (the local hooks, Batch's job
# state change events in AWS) can find its index record.
USER_ENV = "AIORCH_USER"
EXECUTION_ARN_ENV = "AIORCH_EXECUTION_ARN"

# AWS Batch job statuses → whether the job is still waiting for a GPU host.
_WAITING = {"SUBMITTED", "PENDING", "RUNNABLE", "STARTING"}


def running_words(kind: str) -> str:
    return f"running {kind}"


SHARE_BUCKETS_HEX = 2  # 256 share identifiers: Batch allows 500 active ones per fair-share queue


def share_identifier(user: str) -> str:
    """The user's Batch fair-share identifier: the first hex digits of the user's hash (no user id in
    Batch's console). 256 of them, since a queue with a scheduling policy takes at most 500 active
    share identifiers (SubmitJob's documentation): past 256 users at once, two may share a turn."""
    return "u" + hashlib.sha256(user.encode()).hexdigest()[:SHARE_BUCKETS_HEX]


def job_state(command: Sequence[str]) -> tuple[str, str] | None:
    """(state name, job kind) of a job's container command, None when it is not one of ours."""
    if not command:
        return None
    try:
        kind = JobKind(command[0])
    except ValueError:
        return None
    return (BATCH_JOB_STATE if "--batch" in command else STATE_FOR_JOB[kind]), kind.value


def execution_id_of(arn: str) -> str:
    """The execution id (its name) from an execution ARN."""
    return arn.rsplit(":", 1)[-1]


def note_stage(index: ExecutionIndex, user: str, execution_id: str, state: str, stage: str) -> bool:
    """Write the stage; False (logged) when it could not be written or the execution has ended."""
    try:
        return index.set_stage(user, execution_id, state=state, stage=stage)
    except Exception:  # the step goes on: its stage is only what a poll shows
        log.warning("stage %s/%s of %s could not be written", state, stage, execution_id, exc_info=True)
        return False


def note_job_stage(index: ExecutionIndex, environment: Mapping[str, str], command: Sequence[str], status: str) -> bool:
    """A job's status (Batch's, or the local runner's RUNNABLE/RUNNING) as the stage of its execution."""
    user, arn = environment.get(USER_ENV), environment.get(EXECUTION_ARN_ENV)
    found = job_state(command)
    if not user or not arn or found is None:
        return False
    state, kind = found
    if status in _WAITING:
        stage = QUEUED_FOR_GPU
    elif status == "RUNNING":
        stage = running_words(kind)
    else:
        return False  # ended: the next step (or the recorder) writes what comes next
    return note_stage(index, user, execution_id_of(arn), state, stage)
