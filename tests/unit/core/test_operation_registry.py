"""The registry of operations (aiorch/registry/): one module per operation is enough for the core, and each
part derived from it that is written down (the job module, the state machine, Terraform's list) fails a
test naming what is missing when it lags behind."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aiorch import contracts
from aiorch.registry import REGISTRY, Registry, RegistryError, build_registry, discover, job_module_problems
from aiorch.registry.spec import JobDefinition, OperationDefinition, OptionSpec, output_options
from workflows.definition import DEFINITION_PATH
from workflows.render import COMMAND, TERRAFORM_JOB_TASKS_PATH, render_asl, stale_parts

REPO = Path(__file__).resolve().parents[3]

COLORIZE_JOB = JobDefinition(kind="colorize", state="Colorize", module="jobs.colorize")
COLORIZE = OperationDefinition(
    name="colorize",
    position=25,
    label="Colorize",
    description="Adds colour to a grey image.",
    past_tense="colorized",
    jobs=[COLORIZE_JOB],
    max_pixels=1_000_000,
    options=[*output_options([COLORIZE_JOB.kind])],
)


def with_colorize() -> Registry:
    return build_registry([*discover(), COLORIZE])


def committed() -> tuple[str, str]:
    return DEFINITION_PATH.read_text(encoding="utf-8"), TERRAFORM_JOB_TASKS_PATH.read_text()


def test_every_module_of_the_package_is_found_in_position_order() -> None:
    assert list(REGISTRY.operations) == [o.name for o in sorted(discover(), key=lambda o: o.position)]
    assert [o.value for o in contracts.Operation] == list(REGISTRY.operations)
    assert [k.value for k in contracts.JobKind] == list(REGISTRY.jobs)
    assert contracts.JobKind.detect_text.value == "detect-text"  # the member name keeps '_', the CLI word '-'


def test_the_maps_are_the_registry_s() -> None:
    for name, operation in REGISTRY.operations.items():
        assert [k.value for k in contracts.JOBS_FOR_OPERATION[contracts.Operation(name)]] == [
            j.kind for j in operation.jobs
        ]
    assert {k.value: s for k, s in contracts.STATE_FOR_JOB.items()} == {k: j.state for k, j in REGISTRY.jobs.items()}
    after = contracts.JOB_FOR_AFTER_STATE
    assert after == {"AfterDetectText": contracts.JobKind.detect_text}


def test_every_registered_job_has_its_module_with_a_run_function() -> None:
    assert job_module_problems(REGISTRY) == []


def test_an_operation_whose_job_module_is_missing_is_named_with_the_module() -> None:
    problems = job_module_problems(with_colorize())

    missing = "job 'colorize' of operation 'colorize': its module jobs.colorize (jobs/colorize.py) is missing"
    assert problems == [missing]


def test_a_job_module_without_run_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "half_written_job.py").write_text("def main():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    job = COLORIZE_JOB.model_copy(update={"module": "half_written_job"})
    registry = build_registry([*discover(), COLORIZE.model_copy(update={"jobs": [job]})])

    assert job_module_problems(registry) == [
        "job 'colorize' of operation 'colorize': its module half_written_job defines no "
        "run(image, options, progress[, mask=...])"
    ]


def test_the_committed_state_machine_and_terraform_list_are_the_registry_s() -> None:
    problems = stale_parts(*committed())
    assert problems == [], "\n".join(problems)


def test_a_state_machine_behind_the_registry_names_the_missing_state_and_branch() -> None:
    asl, terraform = committed()

    problems = stale_parts(asl, terraform, with_colorize())

    assert f"{DEFINITION_PATH.name} lacks the state Colorize (rewrite with `{COMMAND}`)" in problems
    assert f"{DEFINITION_PATH.name}'s state ChooseOperation differs from the registry's (rewrite with `{COMMAND}`)" in (
        problems
    )


def test_a_terraform_list_behind_the_registry_names_the_missing_job_task() -> None:
    asl, terraform = committed()
    current_asl = json.dumps(render_asl(json.loads(asl), with_colorize()), indent=2, ensure_ascii=False) + "\n"

    problems = stale_parts(current_asl, terraform, with_colorize())

    listed = [job.state for job in REGISTRY.jobs.values()]
    wanted = [job.state for job in with_colorize().jobs.values()]
    assert "Colorize" in wanted and "Colorize" not in listed
    assert problems == [
        f"{TERRAFORM_JOB_TASKS_PATH.name}: job_tasks is {listed}, the registry's is {wanted} (rewrite with `{COMMAND}`)"
    ]


def test_a_new_operation_gets_a_branch_and_one_task_state_like_the_others() -> None:
    states = render_asl(json.loads(committed()[0]), with_colorize())["States"]

    branches = {c["StringEquals"]: c["Next"] for c in states["ChooseOperation"]["Choices"][1:]}
    assert branches["colorize"] == "Colorize"
    assert states["ChooseOperation"]["Choices"][0]["Next"] == "RunChunks"  # the batch branch stays first
    assert states["ChooseOperation"]["Default"] == "UnknownOperation"
    upscale, colorize = states["Upscale"], states["Colorize"]
    assert colorize["Next"] == "RecordResult"
    assert json.dumps(colorize).replace("Colorize", "Upscale") == json.dumps(upscale)
    assert list(states).index("Colorize") < list(states).index("RecordResult")


def test_the_state_machine_keeps_detect_text_s_own_ending_when_it_is_rendered() -> None:
    states = render_asl(json.loads(committed()[0]))["States"]

    assert states["DetectText"]["Next"] == "AfterDetectText"
    assert states["AfterDetectText"]["Choices"] == [
        {"Variable": "$.validated.operation", "StringEquals": "detect_text", "Next": "RecordResult"}
    ]
    assert states["AfterDetectText"]["Default"] == "Inpaint"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"result_job": "inpaint"}, "its result job 'inpaint' is not one of its jobs ['colorize']"),
        ({"summary_options": ["strength"]}, "its summary names 'strength'"),
        ({"model_option": "format", "model_weights": {"tiff": "x"}}, "weights for ['tiff'], not choices of 'format'"),
        ({"max_pixels": None}, "operation 'colorize' has no max_pixels"),
        ({"preview_for": "paint"}, "operation 'colorize' previews 'paint', which is not registered"),
        ({"accepts_mask": True}, "accepts a mask, but none of its jobs ['colorize'] takes one"),
        ({"name": "upscale"}, "operation 'upscale' is declared twice"),
        (
            {"options": [OptionSpec(name="strength", type="number", description="How much.", default=1, jobs=["x"])]},
            "option 'strength': read by ['x'], not among its jobs ['colorize']",
        ),
    ],
)
def test_a_declaration_that_names_what_is_not_there_is_refused_saying_what(change: dict, named: str) -> None:
    with pytest.raises(RegistryError, match=r"colorize|upscale") as refused:
        build_registry([*discover(), COLORIZE.model_copy(update=change)])
    assert named in str(refused.value)


def test_a_job_declared_differently_by_two_operations_is_refused() -> None:
    other = JobDefinition(kind="detect-text", state="DetectText", module="jobs.other_ocr")
    with pytest.raises(RegistryError, match="'detect-text' is declared differently by two operations"):
        build_registry([*discover(), COLORIZE.model_copy(update={"jobs": [other]})])


def test_model_weights_name_registered_weights() -> None:
    from aiorch.weights import REGISTRY as WEIGHTS

    for operation in REGISTRY.operations.values():
        assert set(operation.model_weights.values()) <= set(WEIGHTS), operation.name


# Run in a fresh interpreter whose aiorch.registry package also lists a folder holding one more
# operation module, as a checkout with aiorch/registry/colorize.py added would.
ADDED_MODULE = """
from aiorch.registry.spec import JobDefinition, OperationDefinition, output_options

JOB = JobDefinition(kind="colorize", state="Colorize", module="jobs.colorize")
OPERATION = OperationDefinition(
    name="colorize", position=25, label="Colorize", description="Adds colour.", past_tense="colorized",
    jobs=[JOB], max_pixels=1_000_000, options=output_options([JOB.kind]),
)
"""
PROBE = """
import importlib.util, json, sys

spec = importlib.util.find_spec("aiorch.registry")
spec.submodule_search_locations.append(sys.argv[1])
package = importlib.util.module_from_spec(spec)
sys.modules["aiorch.registry"] = package
spec.loader.exec_module(package)

from aiorch.analysis.names import download_name
from aiorch.contracts import JOBS_FOR_OPERATION, STATE_FOR_JOB, Operation, offered_operations_in_words
from aiorch.operations import check_options, served_operations
from aiorch.settings import Settings
from aiorch_local.cli import process
from jobs.cli import JOB_TYPES
from workflows.render import terraform_job_tasks

settings = Settings.model_construct()
served = {o.name.value: o for o in served_operations(settings, installed={})}["colorize"]
print(json.dumps({
    "jobs": [k.value for k in JOBS_FOR_OPERATION[Operation.colorize]],
    "state": STATE_FOR_JOB[JOBS_FOR_OPERATION[Operation.colorize][0]],
    "options": check_options("colorize", {"format": "WEBP"}),
    "served_max_pixels": served.input.max_pixels,
    "served_label": served.label,
    "limit_set": Settings(max_pixels_by_operation={"colorize": 5}).max_pixels("colorize"),
    "job_module": JOB_TYPES["colorize"].module,
    "cli_choices": next(p for p in process.params if p.name == "operation").type.choices,
    "download": download_name("photo.jpg", "colorize", "E1", "results/x/result.png"),
    "offered": offered_operations_in_words(),
    "terraform": terraform_job_tasks()["job_tasks"],
}))
"""


def test_one_module_added_to_the_package_is_an_operation_everywhere_the_core_looks(tmp_path: Path) -> None:
    (tmp_path / "colorize.py").write_text(textwrap.dedent(ADDED_MODULE))

    ran = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120
    )

    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)
    assert seen["jobs"] == ["colorize"] and seen["state"] == "Colorize"
    assert seen["options"] == {"format": "webp"}
    assert seen["served_max_pixels"] == 1_000_000 and seen["served_label"] == "Colorize"
    assert seen["limit_set"] == 5
    assert seen["job_module"] == "jobs.colorize"
    assert "colorize" in seen["cli_choices"]
    assert seen["download"] == "photo-colorized.png"
    registry = with_colorize()  # the same operations, built in this process
    *first, last = registry.offered()
    assert "colorize" in first and seen["offered"] == f"{', '.join(first)} or {last}"
    assert seen["terraform"] == [job.state for job in registry.jobs.values()]
