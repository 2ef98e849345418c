"""A module-wide local states service on a free port with a temporary data dir, bound to the fakes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from states_harness import LocalStates, make_settings

from aiorch.states import states_client
from workflows.local.client import ensure_service, stop_service


@pytest.fixture(scope="module")
def local_states(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStates]:
    settings = make_settings(tmp_path_factory.mktemp("states"))
    ensure_service(settings, timeout_s=60)
    try:
        yield LocalStates(settings, states_client(settings))
    finally:
        stop_service(settings)
