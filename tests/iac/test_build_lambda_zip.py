"""iac/scripts/build_lambda_zip.py: the Lambda package is reproducible and carries no torch."""

from __future__ import annotations

import importlib.util
import re
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.iac.terraform import REPO


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_lambda_zip", REPO / "iac/scripts/build_lambda_zip.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_same_inputs_give_the_same_bytes(builder: ModuleType, tmp_path: Path) -> None:
    first_digest = builder.build(tmp_path / "a.zip", with_dependencies=False)
    second_digest = builder.build(tmp_path / "b.zip", with_dependencies=False)
    assert first_digest == second_digest
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_entries_are_sorted_with_fixed_dates_and_modes(builder: ModuleType, tmp_path: Path) -> None:
    builder.build(tmp_path / "a.zip", with_dependencies=False)
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} <= {0o644, 0o755}


def test_package_holds_the_handlers_and_the_analytics_schema_but_not_the_local_service(
    builder: ModuleType, tmp_path: Path
) -> None:
    builder.build(tmp_path / "a.zip", with_dependencies=False)
    names = set(zipfile.ZipFile(tmp_path / "a.zip").namelist())
    for handler in ("validate_input", "record_result", "record_failure", "status_change", "api"):
        assert f"lambdas/{handler}/handler.py" in names
    assert {"aiorch/settings.py", "analytics/schema.json", "workflows/image_ai_analysis.asl.json"} <= names
    assert not [n for n in names if n.startswith(("workflows/local/", "jobs/")) or n.endswith(".pyc")]


def test_torch_is_refused_as_a_lambda_dependency(builder: ModuleType, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "locks").mkdir(parents=True)
    (repo / "locks" / "lambda.txt").write_text("pydantic==2.14.4 \\\n    --hash=sha256:00\ntorch==2.14.1 \\\n")
    with pytest.raises(builder.BuildError, match="torch must not be a Lambda dependency"):
        builder.locked_requirements(repo)


def test_a_locked_version_without_a_lambda_wheel_stops_the_build_by_name(builder: ModuleType, tmp_path: Path) -> None:
    """Pillow 13 has no wheel for Amazon Linux 2's glibc 2.26 (the python3.11 runtime's): the build is
    refused by name, where it used to take an older Pillow the suite never ran."""
    found = re.search(r"^pillow==13\.0\.0 .*?(?=^\S)", builder.locked_requirements(), re.M | re.S)
    assert found, "the lock no longer pins pillow 13.0.0: pick another version without a glibc-2.26 wheel"
    with pytest.raises(builder.BuildError, match=r"pillow 13\.0\.0 \(locked in locks/lambda.txt\) has no wheel"):
        builder.install_dependencies(found.group(0), tmp_path / "site", python="3.11", glibc_minor=26)


def test_a_package_over_lambdas_unzipped_limit_is_refused(builder: ModuleType, tmp_path: Path) -> None:
    saved, builder.LAMBDA_UNZIPPED_LIMIT = builder.LAMBDA_UNZIPPED_LIMIT, 1000
    try:
        with pytest.raises(builder.BuildError, match=r"MiB unzipped, over Lambda's"):
            builder.build(tmp_path / "a.zip", with_dependencies=False)
    finally:
        builder.LAMBDA_UNZIPPED_LIMIT = saved
    assert not (tmp_path / "a.zip").exists()


@pytest.mark.parametrize(
    ("name", "trimmed"),
    [
        ("pyarrow/include/arrow/api.h", True),
        ("pyarrow/libarrow_flight.so.2600", True),
        ("pyarrow/_flight.cpython-312-x86_64-linux-gnu.so", True),
        ("pyarrow/lib.pxd", True),
        ("pyarrow/libparquet.so.2600", False),
        ("pyarrow/_parquet.cpython-312-x86_64-linux-gnu.so", False),
        ("pyarrow/parquet/core.py", False),
        ("pydantic/fields.py", False),
    ],
)
def test_only_unused_parts_of_pyarrow_are_trimmed(builder: ModuleType, name: str, trimmed: bool) -> None:
    assert bool(builder.TRIMMED.search(name)) is trimmed
