"""progress.json is written a few times a second at most, but never misses a stage change or a finish."""

from __future__ import annotations

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
