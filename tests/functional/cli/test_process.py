"""The real CLI end to end: `aiorch process` on a real photo, for every operation,
then `aiorch executions show` lists ValidateInput, the job state(s) and RecordResult with their times."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import photo
from tests.support import free_port

pytestmark = [pytest.mark.functional, pytest.mark.slow]


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("cli-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIORCH_")}
    env |= {"AIORCH_DATA_DIR": str(data_dir), "AIORCH_STATES_PORT": str(free_port()), "AIORCH_JOB_SLOTS": "2"}
    yield env
    subprocess.run([sys.executable, "-m", "aiorch_local.cli", "states", "stop"], env=env, timeout=60, check=False)


def aiorch(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiorch_local.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("in") / "coffee.png"
    photo(48, "coffee").save(path)
    return path


@pytest.mark.parametrize(
    ("operation", "job_states", "scale"),
    [
        ("upscale", ["Upscale"], 4),
        ("denoise", ["Denoise"], 1),
        ("inpaint", ["DetectText", "AfterDetectText", "Inpaint"], 1),
    ],
)
def test_process_each_operation_end_to_end(cli_env, photo_file, tmp_path, operation, job_states, scale) -> None:
    out = tmp_path / f"{operation}.png"
    done = aiorch(cli_env, "process", str(photo_file), "--operation", operation, "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["status"] == "SUCCEEDED"
    execution_id = lines["execution"]
    with Image.open(out) as result, Image.open(photo_file) as original:
        assert result.size == (original.width * scale, original.height * scale)
    result_path = Path(lines["result"])
    metadata = json.loads((result_path.parent / "metadata.json").read_text())
    assert metadata["operation"] == operation
    assert metadata["weights"]  # names real weights with a sha256, or "fallback: <algorithm>"
    assert metadata["weights_sha256"] or str(metadata["weights"]).startswith("fallback: ")

    shown = aiorch(cli_env, "executions", "show", execution_id)
    assert shown.returncode == 0, shown.stderr
    names = [line.split()[0] for line in shown.stdout.splitlines() if line.startswith("  ") and "→" in line]
    assert names == ["ValidateInput", "ChooseOperation", *job_states, "RecordResult", "Succeeded"], shown.stdout
    assert all("succeeded" in line for line in shown.stdout.splitlines() if "→" in line)

    listed = aiorch(cli_env, "executions", "list")
    assert execution_id in listed.stdout and "SUCCEEDED" in listed.stdout


def test_process_out_leaves_the_metadata_beside_the_result_and_prints_its_path(cli_env, photo_file, tmp_path) -> None:
    out = tmp_path / "results" / "coffee-denoised.png"
    done = aiorch(cli_env, "process", str(photo_file), "-o", "denoise", "--option", "method=tv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    printed = [line.split(" ", 1)[1] for line in done.stdout.splitlines() if line.startswith("metadata ")]
    assert printed == [str(tmp_path / "results" / "coffee-denoised.png.json")]
    metadata = json.loads(Path(printed[0]).read_text())
    assert metadata["operation"] == "denoise"
    assert metadata["weights"] == "fallback: tv"  # what really ran, beside the image it made
    help_text = aiorch(cli_env, "process", "--help").stdout
    assert "X.png.json" in help_text


def wait_for_file(path: Path, running: subprocess.Popen[str], timeout_s: float = 300) -> Path:
    """Poll until ``path`` exists; fail at once if the process ends first, or after a generous timeout."""
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if running.poll() is not None:
            pytest.fail(f"`aiorch process` ended ({running.returncode}) before {path.name} appeared")
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear within {timeout_s} s")
        time.sleep(0.1)
    return path


@pytest.fixture
def paced_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A states service of its own whose jobs are the real job CLI, held at known progress points
    (tests/fakes/paced_jobs.py): the test, not the machine's speed, decides when the job moves on."""
    data_dir = tmp_path_factory.mktemp("paced-cli-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIORCH_")}
    env |= {
        "AIORCH_DATA_DIR": str(data_dir),
        "AIORCH_STATES_PORT": str(free_port()),
        "AIORCH_JOB_SLOTS": "1",
        "AIORCH_JOB_MODULE": "tests.fakes.paced_jobs",
    }
    (data_dir / "paced-jobs").mkdir()  # pacing on
    yield env
    subprocess.run([sys.executable, "-m", "aiorch_local.cli", "states", "stop"], env=env, timeout=60, check=False)


def test_executions_show_follows_a_real_upscale_mid_run(paced_env, tmp_path) -> None:
    """The same through the CLI: the real local states service and the real job; while it runs,
    `executions show` reaches the job state and follows its progress before the end.

    The job holds at its model stage's first write and at each quarter of it; at each hold the test waits
    (generously) until `executions show` prints exactly the progress the job holds at, then releases it.
    So every line below was seen mid-run, whatever the machine's speed."""
    image = tmp_path / "tiles.png"
    photo(256).save(image)  # 32 px tiles: 64 of them, so a hold at each quarter is its own tile
    command = ["process", str(image), "-o", "upscale", "--option", "model=realesr-animevideov3", "--option", "tile=32"]
    running = subprocess.Popen(
        [sys.executable, "-m", "aiorch_local.cli", *command],
        env=paced_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    progress_lines: list[str] = []
    held: list[dict[str, Any]] = []
    try:
        first = running.stdout.readline() if running.stdout else ""
        assert first.startswith("execution "), (first, running.stderr.read() if running.stderr else "")
        execution_id = first.split()[1]
        pace = Path(paced_env["AIORCH_DATA_DIR"]) / "paced-jobs" / "local" / execution_id / "upscale"
        for n in range(4):  # the first write of the 6400 tile steps, then 25 %, 50 %, 75 %
            held.append(json.loads(wait_for_file(pace / f"held-{n}.json", running).read_text()))
            expected = f"{held[n]['stage']} {held[n]['done']}/{held[n]['total']}"
            deadline = time.monotonic() + 120
            while True:  # the job cannot move on: wait until `executions show` prints where it is
                shown = aiorch(paced_env, "executions", "show", execution_id, timeout=120)
                assert shown.returncode == 0, shown.stderr
                assert shown.stdout.splitlines()[0].split()[-1] == "RUNNING", shown.stdout
                line = next((x for x in shown.stdout.splitlines() if x.startswith("progress ")), "")
                if expected in line:
                    break
                assert time.monotonic() < deadline, f"`executions show` never printed {expected!r}: {line!r}"
                time.sleep(0.2)
            progress_lines.append(line.removeprefix("progress "))
            (pace / f"go-{n}").touch()
        assert running.wait(timeout=300) == 0, running.stderr.read() if running.stderr else ""
    finally:
        if running.poll() is None:
            running.kill()
    assert not (pace / "held-4.json").exists()  # four holds, as planned: each line above was one of them
    final = aiorch(paced_env, "executions", "show", execution_id)
    assert final.stdout.splitlines()[0].split()[-1] == "SUCCEEDED", final.stdout
    assert [h["done"] * 4 // h["total"] for h in held] == [0, 1, 2, 3], held
    states = [line.split(" · ")[0] for line in progress_lines]
    assert states == ["Upscale"] * 4, progress_lines
    percents = [
        float(part.removesuffix("%")) for line in progress_lines for part in line.split(" · ") if part.endswith("%")
    ]
    assert len(percents) == 4 and all(0 < p < 100 for p in percents), progress_lines
    assert all(a < b for a, b in itertools.pairwise(percents)), progress_lines  # it rose at every hold
    assert all("elapsed " in line for line in progress_lines)
    assert all(" s left" in line for line in progress_lines[1:]), progress_lines  # the tile rate gave an estimate


def test_bad_input_fails_at_validation_with_one_line(cli_env, tmp_path) -> None:
    bogus = tmp_path / "notes.png"
    bogus.write_text("not an image")
    done = aiorch(cli_env, "process", str(bogus), "--operation", "denoise")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "not an image" in done.stderr


def test_truncated_input_is_refused_with_a_clear_reason(cli_env, tmp_path, photo_file) -> None:
    truncated = tmp_path / "truncated.jpg"
    buffer = tmp_path / "whole.jpg"
    photo(128).save(buffer, "JPEG")
    truncated.write_bytes(buffer.read_bytes()[:1500])
    done = aiorch(cli_env, "process", str(truncated), "--operation", "upscale")
    assert done.returncode == 1
    assert "truncated" in done.stderr and "Traceback" not in done.stderr
    assert "execution" not in done.stdout  # refused at the upload: nothing was started

    # An ended execution can be deleted from the history; a second delete names what is missing.
    ran = aiorch(cli_env, "process", str(photo_file), "--operation", "denoise", "--option", "method=tv")
    assert ran.returncode == 0, ran.stderr
    execution_id = dict(line.split(" ", 1) for line in ran.stdout.splitlines() if " " in line)["execution"]
    deleted = aiorch(cli_env, "executions", "delete", execution_id)
    assert (deleted.returncode, deleted.stdout.strip()) == (0, f"deleted {execution_id}"), deleted.stderr
    assert execution_id not in aiorch(cli_env, "executions", "list").stdout
    again = aiorch(cli_env, "executions", "delete", execution_id)
    assert again.returncode == 1 and f"no execution '{execution_id}'" in again.stderr, again.stderr


def test_process_a_folder_runs_one_batch_and_names_each_image_s_outcome(cli_env, tmp_path) -> None:
    """Several images (a folder) are one execution: each result lands in --out under its original's name,
    its metadata beside it; a broken image is named with its reason and makes the exit code 1."""
    folder = tmp_path / "photos"
    folder.mkdir()
    photo(48).save(folder / "a.png")
    photo(32, "coffee").save(folder / "b.png")
    whole = folder / "whole.jpg"
    photo(64).save(whole, "JPEG")
    (folder / "c.jpg").write_bytes(whole.read_bytes()[:1500])  # truncated: refused alone, at the upload
    whole.unlink()
    out = tmp_path / "results"

    done = aiorch(cli_env, "process", str(folder), "-o", "denoise", "--option", "method=tv", "--out", str(out))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("execution ") and "status SUCCEEDED" in lines
    image_lines = [line for line in lines if line.startswith("image ")]
    assert image_lines[0].startswith("image 1 a.png: SUCCEEDED ")
    assert image_lines[1].startswith("image 2 b.png: SUCCEEDED ")
    assert image_lines[2].startswith("image 3 c.jpg: FAILED ") and "truncated" in image_lines[2]
    assert "1 of 3 images did not succeed" in done.stderr
    with Image.open(out / "a-denoised.png") as a, Image.open(out / "b-denoised.png") as b:
        assert a.size == (48, 48) and b.size == (32, 21)
    assert json.loads((out / "a-denoised.png.json").read_text())["operation"] == "denoise"
    shown = aiorch(cli_env, "executions", "list")
    assert lines[0].split()[1] in shown.stdout  # one execution for the three
