"""The analytics row of a run is built in the core, from what its recorder knows: the user only as
its one hash, sizes from the first job's input and the last job's output, times summed over jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiorch.analytics.records import RunFacts, row_for, user_hash
from aiorch.settings import Settings

STARTED = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _facts(**changes: object) -> RunFacts:
    facts = RunFacts(
        execution_id="01JEXAMPLE",
        user="alice@example.com",
        operation="inpaint",
        status="SUCCEEDED",
        job_kinds=["detect-text", "inpaint"],
        metadata={
            "detect-text": {"input": {"width": 640, "height": 480, "bytes": 1000}, "timings_s": {"total": 1.5}},
            "inpaint": {
                "model": "fsr",
                "device": "cpu",
                "output": {"width": 640, "height": 480, "bytes": 2000},
                "timings_s": {"total": 2.0, "model": 1.25, "decode": 0.5},
            },
        },
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=9),
    )
    return facts.model_copy(update=changes)


def test_the_row_hashes_the_user_with_the_one_user_hash_and_never_carries_the_id() -> None:
    row = row_for(_facts(), Settings())
    assert row.user_hash == user_hash("alice@example.com")
    assert "alice" not in row.model_dump_json()


def test_sizes_come_from_the_first_jobs_input_and_the_last_jobs_output_and_times_are_summed() -> None:
    row = row_for(_facts(), Settings())
    assert (row.input_width, row.input_height, row.input_bytes) == (640, 480, 1000)
    assert (row.output_width, row.output_height, row.output_bytes) == (640, 480, 2000)
    assert (row.model, row.device) == ("fsr", "cpu")
    assert (row.job_ms, row.model_ms, row.total_ms) == (3500, 1250, 9000)
    assert row.stage_ms_json == '{"decode": 500, "model": 1250}'


def test_a_run_whose_last_job_wrote_nothing_takes_its_model_from_the_first() -> None:
    metadata = {"detect-text": {"model": "pp-ocr", "device": "cpu", "timings_s": {"total": 1.0}}}
    row = row_for(_facts(metadata=metadata, status="FAILED", error_type="JobFailed"), Settings())
    assert (row.model, row.status, row.error_type, row.output_width) == ("pp-ocr", "FAILED", "JobFailed", None)
