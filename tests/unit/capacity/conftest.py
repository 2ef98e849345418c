"""One measured upscale run per test session: the moto run takes seconds, the tests only read it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.capacity.aws_calls import MeasuredRun, measure_upscale_run


@pytest.fixture(scope="session")
def measured_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeasuredRun]:
    with pytest.MonkeyPatch.context() as env:
        yield measure_upscale_run(env, tmp_path_factory.mktemp("capacity"))
