"""A job that ends without error.json: its end in plain words (aiorch.job_exit) and the local runner's
out-of-memory count of its cgroup (workflows/local/jobs.py OomCounter)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiorch.job_exit import (
    batch_job_failure,
    batch_job_kind,
    exit_status_words,
    local_job_end_reason,
    oom_kill_words,
)
from workflows.local.jobs import OomCounter


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (-9, "was killed by SIGKILL (signal 9)"),
        (-15, "was killed by SIGTERM (signal 15)"),
        (137, "exited with code 137 (128 + 9: ended by SIGKILL)"),
        (143, "exited with code 143 (128 + 15: ended by SIGTERM)"),
        (3, "exited with code 3"),
        (-99, "exited with code -99"),  # no such signal: only the number is known
        (None, "ended with no exit status"),
    ],
)
def test_exit_status_in_words(code: int | None, words: str) -> None:
    assert exit_status_words(code) == words


def test_the_local_reason_names_the_signal_and_the_out_of_memory_count() -> None:
    assert local_job_end_reason(-9, 0) == (
        "Job process was killed by SIGKILL (signal 9); no out-of-memory kill in its cgroup while it ran"
    )
    oom = local_job_end_reason(-9, 2)
    assert oom.startswith("OutOfMemoryError: Job process was killed by SIGKILL (signal 9); ")
    assert "the out-of-memory killer ended 2 processes in its cgroup" in oom
    assert "could not be told" in local_job_end_reason(-9, None)
    assert "exited with code 3" in local_job_end_reason(3, 0)  # what the runner's tests and RecordFailure read
    assert oom_kill_words(1).startswith("the out-of-memory killer ended 1 process in")


def test_batch_descriptions_become_a_type_and_plain_words() -> None:
    # AWS: an out-of-memory end is in the container's reason; the summary says little.
    aws_oom = {
        "JobName": "x",
        "StatusReason": "Essential container in task exited",
        "Container": {"ExitCode": 137, "Reason": "OutOfMemoryError: Container killed due to memory usage",
                      "Command": ["upscale", "--input", "s3://b/k"]},
    }  # fmt: skip
    assert batch_job_failure(aws_oom) == (
        "OutOfMemory",
        "the job ended without reporting an error: Essential container in task exited; "
        "OutOfMemoryError: Container killed due to memory usage; the container exited with code 137 "
        "(128 + 9: ended by SIGKILL)",
    )
    assert batch_job_kind(aws_oom) == "upscale"
    # The reason in the last attempt only, boto3's casing, a kill without out-of-memory.
    killed = {"statusReason": "Essential container in task exited", "attempts": [{"container": {"exitCode": 137}}]}
    kind, message = batch_job_failure(killed) or ("", "")
    assert kind == "JobKilled" and "ended by SIGKILL" in message
    # The local runner's own words pass through, with their type.
    local = {"StatusReason": local_job_end_reason(-9, 1), "Container": {"ExitCode": -9}}
    assert batch_job_failure(local)[0] == "OutOfMemory"  # type: ignore[index]
    assert batch_job_failure({"StatusReason": "exit 1", "Container": {"ExitCode": 1}})[0] == "JobEnded"  # type: ignore[index]
    assert batch_job_failure({}) is None and batch_job_failure({"errorMessage": "a Lambda's"}) is None


def _proc(tmp_path: Path, line: str) -> Path:
    proc = tmp_path / "proc"
    (proc / "42").mkdir(parents=True)
    (proc / "42" / "cgroup").write_text(line + "\n")
    return proc


def test_oom_counter_reads_cgroup_v2_memory_events(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    (root / "system.slice" / "svc").mkdir(parents=True)
    events = root / "system.slice" / "svc" / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n")
    counter = OomCounter.of_process(42, root=root, proc=_proc(tmp_path, "0::/system.slice/svc"))
    assert counter == OomCounter(events) and counter.read() == 1
    events.write_text("oom_kill 3\n")
    assert counter.read() == 3


def test_oom_counter_reads_cgroup_v1_and_falls_back_to_the_mounted_root(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    (root / "memory").mkdir(parents=True)
    control = root / "memory" / "memory.oom_control"
    control.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n")
    # The host's path of the cgroup does not exist under the container's mount: the mount root is it.
    proc = _proc(tmp_path, "4:memory:/process_api/abc\n0::/")
    assert OomCounter.of_process(42, root=root, proc=proc) == OomCounter(control)


def test_oom_counter_is_none_when_nothing_is_readable(tmp_path: Path) -> None:
    assert OomCounter.of_process(42, root=tmp_path / "none", proc=_proc(tmp_path, "0::/x")) is None
    assert OomCounter.of_process(42, root=tmp_path, proc=tmp_path / "no-proc") is None
    (tmp_path / "memory.events").write_text("oom 0\n")  # a kernel that does not count kills
    assert OomCounter(tmp_path / "memory.events").read() is None
