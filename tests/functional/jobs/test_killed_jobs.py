"""kill -9 a running job: the local runner's reason names the signal and the cgroup's out-of-memory
count (or says it cannot tell), never a bare "exit code -9"; RecordFailure then shows those words."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.support import fake_job_runner, submit_fake_job, wait_final, wait_for
from workflows.local.jobs import OomCounter

pytestmark = pytest.mark.functional


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_job_killed_by_sigkill_says_so_with_the_out_of_memory_count(tmp_path: Path, warm: bool) -> None:
    runner = fake_job_runner(tmp_path, warm=warm)
    try:
        job = submit_fake_job(runner, tmp_path, "victim", sleep_s=120)
        pid_file = tmp_path / "out/victim/pid"
        pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text(), 60, "the job to start"))
        os.kill(pid, signal.SIGKILL)  # what the out-of-memory killer or an operator's kill -9 does
        ended = wait_final(runner, job.job_id, timeout_s=30)
    finally:
        runner.shutdown()

    assert ended["status"] == "FAILED" and ended["container"]["exitCode"] == -9
    reason = ended["statusReason"]
    assert reason.startswith("Job process was killed by SIGKILL (signal 9); "), reason
    if OomCounter.of_process(os.getpid()) is None:  # this machine shows no cgroup memory counters
        assert "whether it ran out of memory could not be told" in reason
    else:  # nothing ran out of memory: the kill was ours
        assert reason.endswith("no out-of-memory kill in its cgroup while it ran")
    assert not (tmp_path / "out/victim/error.json").exists()  # a killed job writes nothing: the reason is all
