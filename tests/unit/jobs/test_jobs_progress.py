"""progress.json is written a few times a second at most, but never misses a stage change or a finish."""

from __future__ import annotations

from aiorch.contracts import JobProgress, JobStage, utcnow
from aiorch.storage import LocalStorage
from jobs.progress import ProgressWriter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_updates_are_throttled_but_stages_and_finishes_always_written(tmp_path) -> None:
    storage = LocalStorage(tmp_path)
    clock = FakeClock()
    progress = ProgressWriter(storage, "job/progress.json", min_interval_s=0.25, clock=clock)

    progress("tiles", 0, 100)
    for done in range(1, 50):  # 49 updates within the same instant: dropped
        progress("tiles", done, 100)
    assert progress.writes == 1
    assert storage.get_json("job/progress.json")["done"] == 0

    clock.now = 0.3
    progress("tiles", 50, 100)  # the interval has passed
    assert progress.writes == 2
    assert storage.get_json("job/progress.json")["done"] == 50

    progress("tiles", 100, 100)  # finishing is always written
    progress("encoding", 0, 1)  # so is a new stage
    assert progress.writes == 4
    written = storage.get_json("job/progress.json")
    assert (written["stage"], written["done"], written["total"]) == ("encoding", 0, 1)


def test_a_retried_attempt_writes_nothing_until_it_is_as_far_as_the_earlier_one(tmp_path) -> None:
    """Batch retries a job whose Spot host went away: the poll keeps the earlier attempt's place (its
    progress.json) until the new attempt gets there again, so the percent never falls back."""
    storage = LocalStorage(tmp_path)
    key = "job/progress.json"
    earlier = {"stage": JobStage.upscaling, "done": 3, "total": 4}
    storage.put_json(key, earlier)
    progress = ProgressWriter(storage, key, min_interval_s=0.0)
    for stage, done, total in [
        (JobStage.reading_input, 0, 1),
        (JobStage.reading_input, 1, 1),
        (JobStage.loading_model, 0, 1),
        (JobStage.upscaling, 0, 4),
        (JobStage.upscaling, 2, 4),
    ]:
        progress(stage, done, total)
        assert storage.get_json(key) == earlier and progress.writes == 0
    before_reaching = utcnow()
    progress(JobStage.upscaling, 3, 4)  # as far as the earlier attempt: its own figures from here on
    written = JobProgress.model_validate(storage.get_json(key))
    assert (written.stage, written.done, progress.writes) == (JobStage.upscaling, 3, 1)
    # The stage's start is when this attempt began it (for the time-left rate), not when it caught up.
    assert written.stage_started_at is not None and written.stage_started_at <= before_reaching
    progress(JobStage.writing_result, 0, 1)
    progress(JobStage.done, 1, 1)
    assert storage.get_json(key)["stage"] == JobStage.done and progress.writes == 3


def test_an_attempt_after_one_that_finished_writes_only_its_own_finish(tmp_path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put_json("job/progress.json", {"stage": JobStage.done, "done": 1, "total": 1})
    progress = ProgressWriter(storage, "job/progress.json", min_interval_s=0.0)
    progress(JobStage.reading_input, 0, 1)
    progress(JobStage.writing_result, 0, 1)
    assert progress.writes == 0 and storage.get_json("job/progress.json")["stage"] == JobStage.done
    progress(JobStage.done, 1, 1)
    assert progress.writes == 1
