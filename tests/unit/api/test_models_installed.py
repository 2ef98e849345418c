"""One rule for finding weights, and what GET /operations and a submit make of it: each model an option's
choice needs is marked installed or not (this machine's weights folder; a manifest where the jobs run
elsewhere; unknown without one), and a request choosing one that is not installed is refused with 400 and
the command that installs it, before any execution starts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from aiorch.settings import Settings
from aiorch.weights import REGISTRY, build_manifest, chosen_model, find_weights, installed
from tests.fakes.states import FakeStates
from tests.unit.api.conftest import Upload


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 100, 50)).save(buffer, "PNG")
    return buffer.getvalue()


def served_models(client: TestClient) -> dict[str, dict[str, dict]]:
    answer = client.get("/operations")
    assert answer.status_code == 200, answer.text
    return {op["name"]: {m["choice"]: m for m in op["models"]} for op in answer.json()}


def test_the_rule_is_the_option_then_the_setting_then_the_weights_folder(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    settings = Settings(data_dir=tmp_path, weights_dir=folder)
    assert find_weights("big-lama", None, settings) is None
    folder.mkdir()
    (folder / "big-lama.pt").write_bytes(b"lama")
    assert find_weights("big-lama", None, settings) == str(folder / "big-lama.pt")
    configured = Settings(data_dir=tmp_path, weights_dir=folder, lama_weights=tmp_path / "mine.pt")
    assert find_weights("big-lama", None, configured) == str(tmp_path / "mine.pt")
    assert find_weights("big-lama", "s3://b/lama.pt", configured) == "s3://b/lama.pt"
    # The weights folder defaults to <data_dir>/models, where `aiorch weights pull` puts the files.
    assert Settings(data_dir=tmp_path).resolved_weights_dir == tmp_path / "models"


def test_chosen_models() -> None:
    assert chosen_model("upscale", {}) == "realesrgan-x4plus"  # the default model counts
    assert chosen_model("upscale", {"model": "realesr-general-x4v3"}) == "realesr-general-x4v3"
    assert chosen_model("denoise", {"method": "drunet"}) == "drunet"
    assert chosen_model("denoise", {}) is None  # auto never needs weights
    assert chosen_model("inpaint", {"method": "lama"}) == "big-lama"
    assert chosen_model("inpaint", {"method": "telea"}) is None
    assert chosen_model("detect_text", {}) is None


def test_operations_marks_models_installed_from_the_weights_folder(client: TestClient, settings: Settings) -> None:
    models = served_models(client)
    assert set(models["inpaint"]) == {"lama"} and set(models["denoise"]) == {"drunet"}
    lama = models["inpaint"]["lama"]
    assert lama == {
        "option": "method",
        "choice": "lama",
        "name": "big-lama",
        "installed": False,
        "install": "aiorch weights pull big-lama",
    }
    assert models["upscale"]["realesrgan-x4plus"]["installed"] is True  # the package is installed here
    assert models["upscale"]["realesr-general-x4v3"]["installed"] is False
    assert models["detect_text"] == {}
    settings.resolved_weights_dir.mkdir(parents=True)
    (settings.resolved_weights_dir / "big-lama.pt").write_bytes(b"lama")
    assert served_models(client)["inpaint"]["lama"]["installed"] is True
    assert served_models(client)["inpaint"]["lama"]["install"] is None


def test_a_request_for_a_model_not_installed_is_a_400_with_the_pull_command(
    client: TestClient, alice: dict[str, str], upload: Upload, states: FakeStates
) -> None:
    key = upload(alice, png())
    for operation, options, name in [
        ("inpaint", {"method": "lama"}, "big-lama"),
        ("denoise", {"method": "drunet"}, "drunet"),
        ("upscale", {"model": "realesrgan-x4plus-pth"}, "realesrgan-x4plus-pth"),
    ]:
        body = {"operation": operation, "upload": key, "options": options}
        answer = client.post("/image-ai-analysis", json=body, headers=alice)
        assert answer.status_code == 422, answer.text  # well formed; this deployment lacks the model
        assert f"`aiorch weights pull {name}`" in answer.json()["detail"]
    assert states.executions == {}
    fine = client.post("/image-ai-analysis", json={"operation": "inpaint", "upload": key}, headers=alice)
    assert fine.status_code == 202, fine.text  # auto needs no weights


def test_where_the_jobs_run_elsewhere_a_manifest_decides(tmp_path: Path) -> None:
    aws = Settings(data_dir=tmp_path, state_machine_arn="arn:aws:states:eu-west-1:111122223333:stateMachine:x")
    assert set(installed(aws).values()) == {None}  # not known: nothing is refused
    folder = tmp_path / "image-weights"
    folder.mkdir()
    (folder / "drunet_color.pth").write_bytes(b"drunet")
    manifest = build_manifest(Settings(data_dir=tmp_path, weights_dir=folder))
    names = [item["name"] for item in manifest["weights"]]
    assert "drunet" in names and "big-lama" not in names and "realesrgan-x4plus" in names
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with_manifest = aws.model_copy(update={"weights_manifest": str(tmp_path / "manifest.json")})
    flags = installed(with_manifest)
    assert flags["drunet"] is True and flags["big-lama"] is False and set(flags) == set(REGISTRY)
    as_uri = aws.model_copy(update={"weights_manifest": (tmp_path / "manifest.json").as_uri()})
    assert installed(as_uri) == flags
    broken = aws.model_copy(update={"weights_manifest": str(tmp_path / "absent.json")})
    assert set(installed(broken).values()) == {None}


def test_a_manifest_entry_with_the_wrong_sha256_fails_the_build(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "big-lama.pt").write_bytes(b"not lama")
    with pytest.raises(ValueError, match="not the registry's"):
        build_manifest(Settings(data_dir=tmp_path, weights_dir=folder))
