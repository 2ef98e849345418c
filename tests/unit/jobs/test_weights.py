"""The weights registry and loaders: checksums, the conversion cache, user files, clear failures."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import torch

from aiorch.settings import Settings
from jobs.contract import JobFailure
from jobs.weights import REGISTRY, load_model, lookup
from jobs.weights import loaders as loaders_module
from jobs.weights.loaders import sha256_file


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", weights_dir=tmp_path / "weights")


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(JobFailure, match="realesrgan-x4plus"):
        lookup("no-such-model")


def test_package_weights_are_checked_converted_and_cached(settings: Settings, monkeypatch) -> None:
    first = load_model("realesr-animevideov3", settings=settings)
    assert first.sha256 == REGISTRY["realesr-animevideov3"].sha256
    assert first.architecture == "RealESRGAN Compact" and first.scale == 4
    assert first.converted_sha256 and len(first.converted_sha256) == 64
    cached = list(settings.resolved_weights_cache_dir.glob("realesr-animevideov3-*.safetensors"))
    assert len(cached) == 1 and first.sha256[:16] in cached[0].name

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again instead of using the cache")

    monkeypatch.setattr(loaders_module.ncnn, "convert", no_conversion)
    second = load_model("realesr-animevideov3", settings=settings)
    assert second.converted_sha256 == first.converted_sha256
    x = torch.rand(1, 3, 8, 8)
    with torch.inference_mode():
        torch.testing.assert_close(first.module(x), second.module(x))


def test_a_damaged_cache_is_rebuilt_not_trusted(settings: Settings) -> None:
    first = load_model("realesr-animevideov3", settings=settings)
    (cached,) = settings.resolved_weights_cache_dir.glob("realesr-animevideov3-*.safetensors")
    cached.write_bytes(cached.read_bytes()[:-64] + b"\0" * 64)
    again = load_model("realesr-animevideov3", settings=settings)
    assert again.converted_sha256 == first.converted_sha256


def test_package_files_with_another_checksum_are_refused(settings: Settings, monkeypatch) -> None:
    entry = dataclasses.replace(REGISTRY["realesr-animevideov3"], sha256="0" * 64)
    monkeypatch.setitem(REGISTRY, entry.name, entry)
    with pytest.raises(JobFailure, match="sha256"):
        load_model(entry.name, settings=settings)


def save_small_compact(path: Path) -> None:
    from safetensors.torch import save_file
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    save_file(Compact(num_feat=8, num_conv=2, upscale=2).state_dict(), str(path))


def test_a_user_file_is_loaded_through_spandrel_with_its_sha256(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "tiny-compact.safetensors"
    save_small_compact(path)
    loaded = load_model(weights=str(path), settings=settings)
    assert loaded.source == "path" and loaded.scale == 2
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    via_uri = load_model(weights=path.as_uri(), settings=settings)
    assert via_uri.sha256 == loaded.sha256


def test_relative_user_paths_are_found_in_weights_dir(settings: Settings) -> None:
    assert settings.weights_dir is not None
    settings.weights_dir.mkdir(parents=True)
    save_small_compact(settings.weights_dir / "mine.safetensors")
    assert load_model(weights="mine.safetensors", settings=settings).name == "mine"


def test_missing_or_unreadable_user_files_fail_clearly(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(JobFailure, match="does not exist"):
        load_model(weights=str(tmp_path / "absent.pth"), settings=settings)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a tensor file")
    with pytest.raises(JobFailure, match="could not be read"):
        load_model(weights=str(junk), settings=settings)
    text = tmp_path / "weights.txt"
    text.write_text("x")
    with pytest.raises(JobFailure, match="expected one of"):
        load_model(weights=str(text), settings=settings)


def test_container_weights_need_weights_dir_and_the_published_checksum(settings: Settings) -> None:
    with pytest.raises(JobFailure, match="AIORCH_WEIGHTS_DIR"):
        load_model("realesr-general-x4v3", settings=Settings(data_dir=settings.data_dir))
    with pytest.raises(JobFailure, match="does not exist"):
        load_model("realesr-general-x4v3", settings=settings)
    assert settings.weights_dir is not None
    settings.weights_dir.mkdir(parents=True)
    impostor = settings.weights_dir / REGISTRY["realesr-general-x4v3"].file
    save_small_compact(impostor)
    with pytest.raises(JobFailure, match="expected 8dc7edb9"):
        load_model("realesr-general-x4v3", settings=settings)
    assert sha256_file(impostor) != REGISTRY["realesr-general-x4v3"].sha256
