"""The state machine's per-operation parts and Terraform's list of its job tasks, written from the registry
of operations (``aiorch/registry/``). Rewrite both after adding or changing an operation::

    python -m workflows.render            # writes the files
    python -m workflows.render --check    # exits 1 naming what is stale (tests run the same check)

In ``workflows/image_ai_analysis.asl.json`` the registry owns:

- ``ChooseOperation``'s branches by operation (the batch branch before them and the ``Default`` are the file's);
- one Batch task state per job, all from one template (``job_task_state``);
- after a job whose operations go different ways next, a Choice state ``After<State>`` (``AfterDetectText``:
  detect_text, inpaint's OCR preview, is recorded there; inpaint goes on to ``Inpaint``).

Every other state (ValidateInput, the batch's Maps, the recorders, the failure states) is written by hand
in the file and kept as it is. ``iac/envs/dev/job_tasks.json`` lists the job task states (and the batch's,
inside its Maps) whose timeouts Terraform checks against Batch's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from aiorch.registry import REGISTRY, Registry
from aiorch.registry.spec import JobDefinition
from aiorch.settings import Settings
from workflows.definition import BATCH_JOB_TASK_PATH, DEFINITION_PATH

REPO = Path(__file__).resolve().parents[1]
TERRAFORM_JOB_TASKS_PATH = REPO / "iac" / "envs" / "dev" / "job_tasks.json"
COMMAND = "python -m workflows.render"

BATCH_SUBMIT_SYNC = "arn:aws:states:::batch:submitJob.sync"
OPERATION_VARIABLE = "$.validated.operation"
CHOOSE_STATE = "ChooseOperation"
END_STATE = "RecordResult"  # where an operation's last job goes
FAILURE_STATE = "RecordFailure"
BATCH_RETRIED_ERRORS = ["Batch.TooManyRequestsException", "Batch.BatchException", "Batch.AWSBatchException"]


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value


def job_task_state(job: JobDefinition, next_state: str) -> dict[str, Any]:
    """The one template of a job's Batch task: submit ValidateInput's spec for it (``$.validated.jobs.<State>``),
    wait for the job, keep only its JobId under ``$.jobs.<State>``; Batch's throttling retried, any failure
    recorded. Timeout and retry counts are the Settings defaults (a deployment's own are applied at render)."""
    defaults = Settings.model_construct()  # the model's defaults, no AIORCH_* from the environment
    spec = f"$.validated.jobs.{job.state}"
    return {
        "Type": "Task",
        "Comment": f"Model job {job.state} on AWS Batch; only its JobId is kept.",
        "Resource": BATCH_SUBMIT_SYNC,
        "Parameters": {
            "JobName.$": f"{spec}.name",
            "ShareIdentifier.$": f"{spec}.share",
            "JobQueue": "${job_queue}",
            "JobDefinition": "${job_definition}",
            "ContainerOverrides": {
                "Command.$": f"{spec}.command",
                "Environment": [
                    {"Name": "AIORCH_EXECUTION_ARN", "Value.$": "$$.Execution.Id"},
                    {"Name": "AIORCH_USER", "Value.$": "$$.Execution.Input.request.user"},
                ],
            },
        },
        "TimeoutSeconds": defaults.job_timeout_s,
        "ResultSelector": {"job_id.$": "$.JobId"},
        "ResultPath": f"$.jobs.{job.state}",
        "Retry": [
            {
                "ErrorEquals": list(BATCH_RETRIED_ERRORS),
                "IntervalSeconds": 1,
                "MaxAttempts": defaults.batch_throttle_retry_max_attempts,
                "BackoffRate": _number(defaults.retry_backoff_rate),
                "JitterStrategy": "FULL",
            }
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILURE_STATE}],
        "Next": next_state,
    }


def _state_of(registry: Registry, kind: str | None) -> str:
    return registry.jobs[kind].state if kind is not None else END_STATE


def _ends_here(registry: Registry, operation: str, job: JobDefinition) -> str:
    previewed = registry.operations[operation].preview_for
    if previewed is not None:
        return (
            f"{operation} is {previewed}'s {job.state} job alone (its preview, shown before {previewed} runs): "
            "its result is that job's, so it is recorded here"
        )
    return f"{operation} ends with {job.state}: its result is that job's, so it is recorded here"


def after_job_choice(registry: Registry, job: JobDefinition) -> dict[str, Any] | None:
    """The Choice state after a job whose operations go different ways next; None when they all agree.
    Its default is where the first operation (in the registry's order) that goes on to a job goes."""
    if not registry.parts_after(job.kind):
        return None
    following = {op: _state_of(registry, kind) for op, kind in registry.next_jobs(job.kind).items()}
    default = next((s for s in following.values() if s != END_STATE), END_STATE)
    branches = {op: state for op, state in following.items() if state != default}
    goes_on = [op for op, state in following.items() if state == default]
    said = [
        _ends_here(registry, op, job) if state == END_STATE else f"{op} goes on to {state}"
        for op, state in branches.items()
    ]
    said.append(f"{', '.join(goes_on)} {'goes' if len(goes_on) == 1 else 'go'} on to {default}")
    return {
        "Type": "Choice",
        "Comment": "; ".join(said) + ".",
        "Choices": [
            {"Variable": OPERATION_VARIABLE, "StringEquals": op, "Next": state} for op, state in branches.items()
        ],
        "Default": default,
    }


def job_states(registry: Registry) -> dict[str, dict[str, Any]]:
    """Every job's task state, each followed by its Choice state where its operations part, in job order."""
    states: dict[str, dict[str, Any]] = {}
    for kind, job in registry.jobs.items():
        choice = after_job_choice(registry, job)
        if choice is None:
            (only,) = set(registry.next_jobs(kind).values())
            states[job.state] = job_task_state(job, _state_of(registry, only))
        else:
            after = registry.after_state(kind)
            states[job.state] = job_task_state(job, after)
            states[after] = choice
    return states


def is_generated_state(name: str, state: dict[str, Any]) -> bool:
    """A state this module writes: a job's Batch task, or a Choice after one (After<State>, by operation only)."""
    if state.get("Type") == "Task" and state.get("Resource") == BATCH_SUBMIT_SYNC:
        return True
    return (
        state.get("Type") == "Choice"
        and name.startswith("After")
        and all(c.get("Variable") == OPERATION_VARIABLE for c in state.get("Choices", []))
    )


def render_asl(definition: dict[str, Any], registry: Registry = REGISTRY) -> dict[str, Any]:
    """The definition with its per-operation parts written from the registry (a new dict); the job states
    stand before RecordResult, where the file has them."""
    rendered = json.loads(json.dumps(definition))
    old = rendered["States"]
    choose = old[CHOOSE_STATE]
    kept = [c for c in choose["Choices"] if c.get("Variable") != OPERATION_VARIABLE]  # the batch branch
    choose["Choices"] = kept + [
        {"Variable": OPERATION_VARIABLE, "StringEquals": name, "Next": operation.jobs[0].state}
        for name, operation in registry.operations.items()
    ]
    generated = job_states(registry)
    states: dict[str, Any] = {}
    for name, state in old.items():
        if name == END_STATE:
            states |= generated
        if not is_generated_state(name, state):
            states[name] = state
    rendered["States"] = states
    return rendered


def asl_text(registry: Registry = REGISTRY) -> str:
    """The committed file's text as the registry writes it."""
    current = json.loads(DEFINITION_PATH.read_text(encoding="utf-8"))
    return json.dumps(render_asl(current, registry), indent=2, ensure_ascii=False) + "\n"


def terraform_job_tasks(registry: Registry = REGISTRY) -> dict[str, Any]:
    """What iac/envs/dev/main.tf reads: the job task states, and the path to the batch's job task."""
    return {
        "job_tasks": [job.state for job in registry.jobs.values()],
        "batch_job_task_path": list(BATCH_JOB_TASK_PATH),
    }


def terraform_job_tasks_text(registry: Registry = REGISTRY) -> str:
    return json.dumps(terraform_job_tasks(registry), indent=2) + "\n"


def stale_parts(asl: str, terraform: str, registry: Registry = REGISTRY) -> list[str]:
    """What the committed files lack or have that the registry does not, in words; empty when current."""
    problems = []
    want = json.loads(asl_text(registry))
    have = json.loads(asl)
    for name in sorted(set(want["States"]) - set(have["States"])):
        problems.append(f"{DEFINITION_PATH.name} lacks the state {name}")
    for name in sorted(set(have["States"]) - set(want["States"])):
        problems.append(f"{DEFINITION_PATH.name} has the state {name}, which no registered job needs")
    for name in sorted(set(want["States"]) & set(have["States"])):
        if want["States"][name] != have["States"][name]:
            problems.append(f"{DEFINITION_PATH.name}'s state {name} differs from the registry's")
    if not problems and asl != asl_text(registry):
        problems.append(f"{DEFINITION_PATH.name}'s states are in another order or layout than the registry's")
    wanted_tasks = terraform_job_tasks(registry)
    try:
        had_tasks = json.loads(terraform)
    except ValueError:
        had_tasks = {}
    for key, value in wanted_tasks.items():
        if had_tasks.get(key) != value:
            problems.append(
                f"{TERRAFORM_JOB_TASKS_PATH.name}: {key} is {had_tasks.get(key)}, the registry's is {value}"
            )
    return [f"{p} (rewrite with `{COMMAND}`)" for p in problems]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 naming what is stale")
    args = parser.parse_args(argv)
    if args.check:
        terraform = TERRAFORM_JOB_TASKS_PATH.read_text() if TERRAFORM_JOB_TASKS_PATH.exists() else ""
        problems = stale_parts(DEFINITION_PATH.read_text(encoding="utf-8"), terraform)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    DEFINITION_PATH.write_text(asl_text(), encoding="utf-8")
    TERRAFORM_JOB_TASKS_PATH.write_text(terraform_job_tasks_text())
    print(f"wrote {DEFINITION_PATH.relative_to(REPO)} and {TERRAFORM_JOB_TASKS_PATH.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
