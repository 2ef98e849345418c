"""The real job module run by the local runner warm (jobs/worker.py) and cold (``python -m jobs``):
the same files, metadata and exit codes; and an upscale job stays lean in its imports."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiorch.settings import Settings
from tests.unit.jobs.job_images import astronaut
from workflows.local.jobs import JobRunner, JobStatus

pytestmark = pytest.mark.functional


def _run_jobs(tmp_path: Path, warm: bool, source: Path) -> tuple[Path, list[dict]]:
    """An upscale that succeeds, then one whose input is missing, in one runner; (output root, descriptions)."""
    data_dir = tmp_path / ("warm" if warm else "cold")
    settings = Settings(data_dir=data_dir, job_slots=1, job_workers=warm)
    runner = JobRunner(settings, stop_grace_s=2)
    runner.start()
    out = data_dir / "out"
    commands = {
        "ok": ["upscale", "--input", source.as_uri(), "--output", f"{out.as_uri()}/ok/"],
        "missing": ["upscale", "--input", (tmp_path / "nope.png").as_uri(), "--output", f"{out.as_uri()}/missing/"],
    }
    env = {"AIORCH_DATA_DIR": str(tmp_path / "weights-home")}  # one weights cache for both runs
    try:
        deadline = time.monotonic() + 240
        # A job handed to a worker still importing torch waits for it (its start-up shows the wait): wait
        # for the worker first, so the warm job's figures are a warm job's.
        while warm and not all(w.usable and w.ready for w in runner.workers.workers):
            assert time.monotonic() < deadline, "the warm worker did not get ready"
            time.sleep(0.1)
        jobs = [
            runner.submit(name=n, queue="q", definition="d", command=c, environment=env) for n, c in commands.items()
        ]
        deadline = time.monotonic() + 240
        while not all(JobStatus(d["status"]).is_final for d in runner.describe([j.job_id for j in jobs])):
            assert time.monotonic() < deadline, "jobs did not finish"
            time.sleep(0.1)
        return out, runner.describe([j.job_id for j in jobs])
    finally:
        runner.shutdown()


def _comparable(metadata: dict) -> dict:
    """What a warm and a cold job must write alike: all but the clocks (timings, and the cost's device
    seconds and the dollars counted from them)."""
    same = {k: v for k, v in metadata.items() if k not in ("timings_s", "worker", "cost")}
    same["cost"] = {k: v for k, v in metadata["cost"].items() if k not in ("device_seconds", "usd")}
    return same


def _check_timings(metadata: dict) -> dict:
    """The runner passed the spawn time: start-up is a figure, and the parts stay within the total."""
    timings = metadata["timings_s"]
    parts = [timings[k] for k in ("startup", "imports", "decode", "load_model", "model", "encode")]
    assert all(isinstance(p, float) and p >= 0 for p in parts) and timings["total_from"] == "spawn", timings
    assert sum(parts) <= timings["total"]
    return timings


def test_a_warm_worker_writes_what_a_cold_job_writes(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    astronaut(16).save(source)
    cold_out, cold = _run_jobs(tmp_path, False, source)
    warm_out, warm = _run_jobs(tmp_path, True, source)

    assert [d["status"] for d in cold] == [d["status"] for d in warm] == ["SUCCEEDED", "FAILED"]
    assert [d["container"]["exitCode"] for d in cold] == [d["container"]["exitCode"] for d in warm] == [0, 1]
    cold_pixels = np.asarray(Image.open(cold_out / "ok/result.png"))
    assert cold_pixels.shape == (64, 64, 3)
    np.testing.assert_array_equal(np.asarray(Image.open(warm_out / "ok/result.png")), cold_pixels)
    cold_meta = json.loads((cold_out / "ok/metadata.json").read_text())
    warm_meta = json.loads((warm_out / "ok/metadata.json").read_text())
    assert _comparable(warm_meta) == _comparable(cold_meta)
    # Honest timings: a cold job's start-up is a Python start (and its imports are torch's); a warm job's
    # start-up is the hand-over, and the worker's own start-up is reported apart, not in the job's.
    cold_timings, warm_timings = _check_timings(cold_meta), _check_timings(warm_meta)
    assert cold_meta["worker"] is None and warm_meta["worker"]["startup_s"] > 0
    assert warm_timings["startup"] < cold_timings["startup"]
    assert warm_timings["imports"] < cold_timings["imports"]
    assert json.loads((warm_out / "ok/progress.json").read_text())["stage"] == "done"
    cold_error = json.loads((cold_out / "missing/error.json").read_text())
    warm_error = json.loads((warm_out / "missing/error.json").read_text())
    assert cold_error["type"] == "NotFound"
    assert {k: v for k, v in warm_error.items() if k != "at"} == {k: v for k, v in cold_error.items() if k != "at"}
    assert "NotFound" in Path(warm[1]["container"]["logStreamName"]).read_text()  # the job's log, not the worker's


LEAN_CHECK = """
import json, sys
from jobs.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": sorted(m for m in ("deepinv", "cv2", "rapidocr") if m in sys.modules)}))
"""


def test_an_upscale_job_leaves_deepinv_cv2_and_rapidocr_unimported(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    astronaut(16).save(source)
    command = ["upscale", "--input", source.as_uri(), "--output", tmp_path.as_uri() + "/o/"]
    done = subprocess.run(
        [sys.executable, "-c", LEAN_CHECK, *command],
        capture_output=True, text=True, timeout=240, check=False, env={"AIORCH_DATA_DIR": str(tmp_path), "PATH": ""},
    )  # fmt: skip
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "loaded": []}, done.stderr
