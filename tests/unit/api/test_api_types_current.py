"""frontend/src/lib/api-types.ts is generated from the served OpenAPI document by npm's openapi-typescript;
this test regenerates it and fails when the committed file is stale. Regenerate with
``.venv/bin/python -m tests.unit.api.test_api_types_current`` (needs ``cd frontend && npm ci`` once)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from aiorch.analysis import AnalysisService
from aiorch.settings import Settings
from lambdas.api.app import create_app
from tests.fakes.states import FakeStates

FRONTEND = Path(__file__).resolve().parents[3] / "frontend"
TYPES = FRONTEND / "src" / "lib" / "api-types.ts"
GENERATOR = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"


def generated_types(work: Path) -> str:
    assert GENERATOR.exists(), f"{GENERATOR} is missing: run `cd frontend && npm ci` (a devDependency)"
    settings = Settings(data_dir=work, storage_url=str(work / "storage"))
    document = create_app(settings, AnalysisService(settings, states_client=FakeStates())).openapi()
    (work / "openapi.json").write_text(json.dumps(document, indent=1, sort_keys=True))
    out = work / "api-types.ts"
    subprocess.run(
        [str(GENERATOR), str(work / "openapi.json"), "-o", str(out)],
        cwd=FRONTEND,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out.read_text()


def test_the_front_end_api_types_are_generated_from_the_served_document(tmp_path: Path) -> None:
    assert TYPES.read_text() == generated_types(tmp_path), "stale: regenerate (see this module's docstring)"


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as work:
        TYPES.write_text(generated_types(Path(work)))
