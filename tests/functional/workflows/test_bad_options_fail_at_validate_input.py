"""An execution started directly through Step Functions (the states client, no API in front) with a bad
option fails at the real ValidateInput with the schema's message, and no job state is ever entered."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from PIL import Image
from states_harness import USER, LocalStates, make_settings

from aiorch.operations import OptionError, check_options
from aiorch.states import states_client
from aiorch.states.history import describe
from aiorch.storage import open_app_storage
from tests.unit.api.test_operations_api import CASES
from workflows.local.client import ensure_service, stop_service

pytestmark = pytest.mark.functional

NOT_JOBS = {"ValidateInput", "RecordFailure", "CauseGiven", "Failed"}


@pytest.fixture(scope="module")
def real_validate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStates]:
    """The local states service with its default dispatch: the real Lambda handlers; fake jobs (that log)."""
    settings = make_settings(tmp_path_factory.mktemp("states"), states_dispatch_file=None)
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, "PNG")
    open_app_storage(settings).put_bytes(f"uploads/{USER}/up1/original.png", buffer.getvalue(), "image/png")
    ensure_service(settings, timeout_s=60)
    try:
        yield LocalStates(settings, states_client(settings))
    finally:
        stop_service(settings)


@pytest.mark.parametrize(("operation", "options", "option", "words"), CASES)
def test_a_bad_option_fails_at_validate_input_and_no_job_state_is_entered(
    real_validate: LocalStates, operation: str, options: dict, option: str, words: str
) -> None:
    with pytest.raises(OptionError) as expected:  # the words the API answers with (tests/unit/api)
        check_options(operation, options)

    execution_id, arn = real_validate.start(operation, **options)
    described = real_validate.wait(arn, timeout_s=60)

    assert described["status"] == "FAILED"
    assert json.loads(described["cause"])["errorMessage"] == expected.value.message
    states = [s.name for s in describe(real_validate.client, arn).states]
    assert states[0] == "ValidateInput" and set(states) <= NOT_JOBS, states
    assert real_validate.calls("job_started", execution_id) == []
