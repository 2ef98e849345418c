"""Where an execution stands: the bar never moves back over a job's stages, and the time left comes from the rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiorch.analysis.progress import job_fraction, progress_view, stage_remaining_s
from aiorch.contracts import JobProgress, Operation

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def at(stage: str, done: int, total: int, seconds: float = 0.0, started: datetime | None = T0) -> JobProgress:
    return JobProgress(
        stage=stage, done=done, total=total, updated_at=T0 + timedelta(seconds=seconds), stage_started_at=started
    )


def test_the_job_share_rises_over_every_stage_the_job_cli_writes() -> None:
    stages = [("reading input", 0, 1), ("reading input", 1, 1)]
    stages += [("upscale", d, 16) for d in range(17)]
    stages += [("writing result", 0, 1), ("done", 1, 1)]
    fractions = [job_fraction(at(*s)) for s in stages]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.05 and fractions[-1] == 1.0  # out of the queue (its 5 %) once it writes
    assert len(set(fractions)) >= 17  # every tile moves the bar


def test_percent_places_the_job_between_validate_and_record() -> None:
    validating = progress_view(Operation.upscale, "ValidateInput", False, None)
    half_way = progress_view(Operation.upscale, "Upscale", False, at("upscale", 8, 16))
    recording = progress_view(Operation.upscale, "RecordResult", False, None)
    assert validating.percent < half_way.percent < recording.percent < 100
    # The history's last state is Succeeded a moment before the index says it ended: never back to 0.
    recorded = progress_view(Operation.upscale, "Succeeded", False, None)
    assert recording.percent < recorded.percent < 100
    # The middle third, half its tiles done: 15 % queue and start-up, then half the model's 80 %; rounded down.
    assert half_way.percent == 51.6
    assert (half_way.stage, half_way.done, half_way.total) == ("upscale", 8, 16)
    inpainting = progress_view(Operation.inpaint, "Inpaint", False, at("inpainting", 0, 4))
    detecting = progress_view(Operation.inpaint, "DetectText", False, at("detecting text", 3, 4))
    assert detecting.percent < inpainting.percent
    # Between the two jobs (the AfterDetectText choice) the bar stays at the OCR job's end, not back at 0.
    between = progress_view(Operation.inpaint, "AfterDetectText", False, None)
    assert detecting.percent < between.percent <= inpainting.percent
    # Two thirds, rounded down.
    assert progress_view(Operation.detect_text, "AfterDetectText", False, None).percent == 66.6


def test_time_left_is_the_measured_rate_times_what_is_left() -> None:
    # 4 tiles in 8 s: 2 s a tile, 12 left: 24 s at the update, 20 s when read 4 s later.
    progress = at("upscale", 4, 16, seconds=8)
    assert stage_remaining_s(progress, T0 + timedelta(seconds=8)) == 24.0
    assert stage_remaining_s(progress, T0 + timedelta(seconds=12)) == 20.0
    assert stage_remaining_s(progress, T0 + timedelta(seconds=60)) == 0.0
    view = progress_view(Operation.upscale, "Upscale", False, progress, elapsed_s=30.0, now=T0 + timedelta(seconds=8))
    assert (view.elapsed_s, view.remaining_s) == (30.0, 24.0)


def test_no_estimate_without_a_rate() -> None:
    assert stage_remaining_s(at("upscale", 0, 16, seconds=3), T0) is None  # no tile done yet
    assert stage_remaining_s(at("upscale", 4, 16, started=None), T0) is None  # an older job wrote no start
    assert stage_remaining_s(at("upscale", 16, 16, seconds=3), T0) is None  # the stage is over
    assert progress_view(Operation.denoise, "ValidateInput", False, None, elapsed_s=1.0).remaining_s is None


def test_success_is_100_percent_and_nothing_left() -> None:
    view = progress_view(Operation.denoise, None, True, None, elapsed_s=12.5)
    assert (view.percent, view.remaining_s, view.elapsed_s) == (100.0, 0.0, 12.5)
