"""One measured upscale run per test session: the moto run takes seconds, the tests only read it."""

from __future__ import annotations

import pytest

from tests.unit.capacity.aws_calls import MeasuredRun, measure_upscale_run


@pytest.fixture(scope="session")
def measured_run(tmp_path_factory: pytest.TempPathFactory) -> MeasuredRun:
    # The run's environment (moto's keys, an s3:// storage, a DynamoDB index) is put back as soon as it
    # is measured: held for the session, it sent every later test in the same run to AWS's endpoints.
    from aiorch.settings import get_settings

    with pytest.MonkeyPatch.context() as env:
        run = measure_upscale_run(env, tmp_path_factory.mktemp("capacity"))
    get_settings.cache_clear()
    return run
