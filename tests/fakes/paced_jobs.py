"""The REAL job CLI (jobs.cli: real decoding, real model, real progress.json), held at known progress
points by the test that runs it, so a test can watch a job mid-run without racing the machine.

Run it as the local states service's job module (``AIORCH_JOB_MODULE=tests.fakes.paced_jobs``, or
``Settings(job_module=...)``); warm workers call :func:`main`, a cold job runs ``python -m``.

Pacing is opt-in: it happens only while the folder ``<data_dir>/paced-jobs`` exists (see
:func:`pace_root`); without it the job runs exactly like ``python -m jobs``. While pacing, every
progress.json write goes through (no throttling) and the job holds after these writes of the
model's own stage (a stage counting units, ``total > 1``, not yet complete): its first write, then
the first write that reaches each quarter of it (25 %, 50 %, 75 %). At hold ``n`` it writes
``held-<n>.json`` (the progress it holds at, exactly what progress.json says) into
:func:`pace_dir` of that progress file and waits, writing no further progress, until the test
creates ``go-<n>`` beside it. A test therefore knows what progress.json holds while
it looks, for as long as it looks. A stop (SIGTERM) still ends a held job as it ends any job.
"""

import signal

# As in jobs/__main__.py: a job process blocks the stop signals before numpy or torch start any
# thread (warm workers do it in jobs/worker.py). Only when run as the job: a test process that
# imports this module must not block them, since every process it starts would inherit the mask
# (`aiorch serve` then ignored its SIGTERM in the fault tests that ran after the batch tests).
if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})

import json
import threading
import time
from pathlib import Path
from typing import Any

from aiorch.settings import Settings, get_settings
from aiorch.storage import LocalStorage, Storage
from jobs import cli, pipeline
from jobs.progress import ProgressWriter

QUARTERS = 4
HOLD_LIMIT_S = 600.0  # an abandoned hold (its test died) lets the job go on rather than hang forever
_JOB_STAGES = {"reading input", "writing result", "done"}  # jobs/pipeline.py's own stages around the model's


def pace_root(settings: Settings | None = None) -> Path:
    """Create this folder to pace jobs; remove it to let them run freely."""
    return (settings or get_settings()).data_dir / "paced-jobs"


def pace_dir(root: Path, progress_key_path: str) -> Path:
    """Where the hold files of one progress.json live: its path below ``results/`` (so
    ``<root>/<user>/<execution>/<job>[/<image>]``), under the pace root."""
    relative = progress_key_path.rsplit("/results/", 1)[-1].removeprefix("results/")
    return root / relative.removesuffix("progress.json").strip("/")


class PacedProgressWriter(ProgressWriter):
    """progress.json as the real writer writes it, unthrottled, holding at the points above."""

    def __init__(self, storage: Storage, key: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(storage, key, *args, **kwargs)
        self._throttle_s = self.min_interval_s  # the real writer's, kept while pacing is off
        self._pace_lock = threading.Lock()  # the tiler reports from its tick thread too: one hold at a time
        self._holds = 0
        self._quarter_stage: str | None = None
        self._next_quarter = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._pace_lock:
            root = pace_root()
            pacing = root.is_dir()
            self.min_interval_s = 0.0 if pacing else self._throttle_s  # while pacing, every write goes through
            super().__call__(stage, done, total)
            if not pacing or self.last is None:
                return
            written = self.last
            if written.stage in _JOB_STAGES or written.total <= 1 or written.done >= written.total:
                return
            if written.stage != self._quarter_stage:
                self._quarter_stage, self._next_quarter = written.stage, 0
            reached = written.done * QUARTERS // written.total  # 0..3: the quarter this write reached
            if reached < self._next_quarter:
                return
            self._next_quarter = reached + 1
            self._hold(root, written.model_dump(mode="json"))

    def _hold(self, root: Path, progress: dict[str, object]) -> None:
        where = self.storage.path(self.key) if isinstance(self.storage, LocalStorage) else self.key
        folder = pace_dir(root, str(where))
        folder.mkdir(parents=True, exist_ok=True)
        n, self._holds = self._holds, self._holds + 1
        held = folder / f"held-{n}.json"
        held.with_suffix(".tmp").write_text(json.dumps(progress), encoding="utf-8")
        held.with_suffix(".tmp").replace(held)  # a reader never sees half of it
        deadline = time.monotonic() + HOLD_LIMIT_S
        while not (folder / f"go-{n}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


pipeline.ProgressWriter = PacedProgressWriter  # type: ignore[misc]  # what jobs.pipeline.compute_result builds
main = cli.main  # what a warm worker runs (jobs/worker.py job_entry)

if __name__ == "__main__":
    cli.run_process()
