"""A disk that fills while a job runs, injected into the local states service's own process.

Listed in the dispatch file's ``extra_hooks``: ``register`` wraps the job runner's status-file write
so that, while ``<data_dir>/full_disk.json`` holds ``{"status_file": N}`` with N > 0 and a job is
running, the write raises ``OSError(ENOSPC)`` (N times). Run as the job module
(``python -m tests.functional.faults.full_disk KIND ...``) it is the fake job CLI, except that the
option ``disk_full`` makes the job fail as one does on a full disk: after ``sleep_s`` it exits 1
with no ``error.json`` (there is no room for one).
"""

from __future__ import annotations

import errno
import json
import sys
import threading
import time
from typing import Any

from aiorch.settings import Settings

_lock = threading.Lock()


def register(events: Any, settings: Settings) -> None:
    from workflows.local.jobs import JobRunner, JobStatus

    path = settings.data_dir / "full_disk.json"
    real = JobRunner._write_status_file

    def write_status_file(self: JobRunner) -> None:
        with _lock:
            try:
                faults = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                faults = {}
            running = any(job.status is JobStatus.RUNNING for job in list(self._jobs.values()))
            if running and faults.get("status_file", 0) > 0:
                faults["status_file"] -= 1
                path.write_text(json.dumps(faults), encoding="utf-8")
                raise OSError(errno.ENOSPC, "No space left on device (injected)")
        real(self)

    JobRunner._write_status_file = write_status_file  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    from tests.fakes.jobs import main as fake_job

    options = json.loads(argv[argv.index("--options") + 1]) if "--options" in argv else {}
    if not options.get("disk_full"):
        return fake_job(argv)
    time.sleep(float(options.get("sleep_s", 0)))
    print("OSError: [Errno 28] No space left on device", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
