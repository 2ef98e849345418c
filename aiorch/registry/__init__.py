"""The registry of operations: every module of this package that holds an ``OPERATION``
(an ``OperationDefinition``) is one operation, found by listing the package (no list to edit).

An operation module declares everything about it: its name and words for people, its jobs in order
(each: the job CLI's subcommand, its state machine task state, its module under ``jobs/``, its mask),
its options, its default pixel limit, its result job, the option that picks its model and the weights
each choice needs, the options a summary names, and the operation it previews, if any.
``aiorch.contracts`` derives ``Operation``, ``JobKind`` and the job maps from it; ``aiorch.operations``
the option schemas and ``GET /operations``; ``Settings`` the pixel limits; ``jobs/job_table.py`` its job table;
``python -m workflows.render`` the state machine's per-job states and Terraform's list of them.

Light on purpose (pydantic only): the Lambda package has no ``jobs/``, and the core imports nothing above it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass

from aiorch.registry.spec import Audience, JobDefinition, OperationDefinition

__all__ = [
    "JOBS",
    "OPERATIONS",
    "REGISTRY",
    "Registry",
    "RegistryError",
    "build_registry",
    "discover",
    "job_module_problems",
]

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_KIND = re.compile(r"[a-z][a-z0-9-]*")  # a Batch job name part and a CLI word
_STATE = re.compile(r"[A-Z][A-Za-z0-9]*")


class RegistryError(ValueError):
    """Two operation modules disagree, or one names something that is not there."""


@dataclass(frozen=True)
class Registry:
    operations: dict[str, OperationDefinition]  # by name, in position order
    jobs: dict[str, JobDefinition]  # by kind, in the order the operations first run them

    def runs(self, kind: str) -> list[OperationDefinition]:
        return [o for o in self.operations.values() if any(j.kind == kind for j in o.jobs)]

    def schema_owner(self, kind: str) -> OperationDefinition:
        """The operation whose option schema and pixel limit a job applies: the first that runs it and
        previews nothing (detect-text: inpaint)."""
        running = self.runs(kind)
        return next((o for o in running if o.preview_for is None), running[0])

    def next_jobs(self, kind: str) -> dict[str, str | None]:
        """For each operation running the job: the job that follows it, None where it is the last."""
        following: dict[str, str | None] = {}
        for operation in self.runs(kind):
            kinds = [j.kind for j in operation.jobs]
            at = kinds.index(kind)
            following[operation.name] = kinds[at + 1] if at + 1 < len(kinds) else None
        return following

    def parts_after(self, kind: str) -> bool:
        """Whether the operations running the job go different ways once it is done."""
        return len(set(self.next_jobs(kind).values())) > 1

    def after_state(self, kind: str) -> str:
        """The state machine's Choice state after a job whose operations part (AfterDetectText)."""
        return "After" + self.jobs[kind].state

    def offered(self) -> list[str]:
        """The operations a person chooses (a preview is offered inside its operation's form)."""
        return [o.name for o in self.operations.values() if o.preview_for is None]


def discover(package: str = __name__) -> list[OperationDefinition]:
    """Every ``OPERATION`` of the package's modules, in module name order."""
    found = []
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if info.name.startswith("_"):
            continue
        definition = getattr(importlib.import_module(f"{package}.{info.name}"), "OPERATION", None)
        if isinstance(definition, OperationDefinition):
            found.append(definition)
    return found


def build_registry(definitions: Iterable[OperationDefinition]) -> Registry:
    """The registry, once every declaration is checked against the others; RegistryError names the first
    part that is missing or disagrees."""
    ordered = sorted(definitions, key=lambda o: (o.position, o.name))
    operations: dict[str, OperationDefinition] = {}
    jobs: dict[str, JobDefinition] = {}
    for operation in ordered:
        name = operation.name
        if not _NAME.fullmatch(name):
            raise RegistryError(f"operation {name!r}: a name is lower-case letters, digits and '_'")
        if name in operations:
            raise RegistryError(f"operation {name!r} is declared twice")
        if not operation.jobs:
            raise RegistryError(f"operation {name!r} runs no job")
        operations[name] = operation
        kinds = [j.kind for j in operation.jobs]
        for job in operation.jobs:
            _check_job(name, job, kinds, jobs)
            jobs.setdefault(job.kind, job)
    states = [j.state for j in jobs.values()]
    if len(set(states)) != len(states):
        raise RegistryError(f"two jobs share a state name: {states}")
    for operation in operations.values():
        _check_operation(operation, operations)
    return Registry(operations, jobs)


def _check_job(operation: str, job: JobDefinition, kinds: list[str], known: dict[str, JobDefinition]) -> None:
    where = f"operation {operation!r}, job {job.kind!r}"
    if not _KIND.fullmatch(job.kind) or not _STATE.fullmatch(job.state):
        raise RegistryError(f"{where}: a kind is lower-case words joined by '-', a state one CamelCase word")
    if job.kind in known and known[job.kind] != job:
        raise RegistryError(f"{where} is declared differently by two operations: {known[job.kind]} and {job}")
    if job.mask_from is not None and job.mask_from not in kinds[: kinds.index(job.kind)]:
        raise RegistryError(f"{where}: its mask comes from {job.mask_from!r}, which does not run before it")


def _check_operation(operation: OperationDefinition, operations: dict[str, OperationDefinition]) -> None:
    where = f"operation {operation.name!r}"
    kinds = [j.kind for j in operation.jobs]
    if operation.preview_for is not None and operation.preview_for not in operations:
        raise RegistryError(f"{where} previews {operation.preview_for!r}, which is not registered")
    if operation.max_pixels is None and operation.preview_for is None:
        raise RegistryError(f"{where} has no max_pixels (only a preview takes its operation's)")
    if operation.result not in kinds:
        raise RegistryError(f"{where}: its result job {operation.result!r} is not one of its jobs {kinds}")
    if operation.accepts_mask and not any(j.mask != "none" and j.mask_from is None for j in operation.jobs):
        raise RegistryError(f"{where} accepts a mask, but none of its jobs {kinds} takes one")
    names = [o.name for o in operation.options]
    if len(set(names)) != len(names):
        raise RegistryError(f"{where} declares an option twice: {names}")
    user_names = [o.name for o in operation.options if o.audience is Audience.user]
    for option in operation.options:
        if not option.jobs or not set(option.jobs) <= set(kinds):
            raise RegistryError(f"{where}, option {option.name!r}: read by {option.jobs}, not among its jobs {kinds}")
        unknown = set(option.choice_labels) - set(option.choices or [])
        if unknown:
            raise RegistryError(f"{where}, option {option.name!r}: labels for choices it lacks: {sorted(unknown)}")
    for summary in operation.summary_options:
        if summary not in user_names:
            raise RegistryError(f"{where}: its summary names {summary!r}, not one of its options {user_names}")
    if operation.model_option is not None:
        model = operation.options[names.index(operation.model_option)] if operation.model_option in names else None
        if model is None or model.type != "choice":
            raise RegistryError(f"{where}: its model option {operation.model_option!r} is not one of its choices")
        stray = set(operation.model_weights) - set(model.choices or [])
        if stray:
            raise RegistryError(f"{where}: weights for {sorted(stray)}, not choices of {model.name!r}")
    elif operation.model_weights:
        raise RegistryError(f"{where} names weights for its choices but no model option")


def job_module_problems(registry: Registry) -> list[str]:
    """What each job's module under ``jobs/`` lacks: the module itself, or its ``run`` function. Read as
    source, never imported (the job modules import torch); the job image's tests run this."""
    problems = []
    for job in registry.jobs.values():
        operations = ", ".join(repr(o.name) for o in registry.runs(job.kind))
        try:
            spec = importlib.util.find_spec(job.module)
        except ModuleNotFoundError:
            spec = None
        if spec is None or spec.origin is None:
            path = job.module.replace(".", "/") + ".py"
            problems.append(f"job {job.kind!r} of operation {operations}: its module {job.module} ({path}) is missing")
            continue
        with open(spec.origin, encoding="utf-8") as source:
            tree = ast.parse(source.read())
        if not any(isinstance(node, ast.FunctionDef) and node.name == "run" for node in tree.body):
            problems.append(
                f"job {job.kind!r} of operation {operations}: its module {job.module} defines no "
                "run(image, options, progress[, mask=...])"
            )
    return problems


REGISTRY = build_registry(discover())
OPERATIONS = REGISTRY.operations
JOBS = REGISTRY.jobs
