"""Fixtures every test folder shares.

Each test gets its own data directory (so nothing touches the developer's real
one) and fresh settings; sample images are real photos from scikit-image,
made small so CPU model time stays short.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from aiorch.settings import Settings, get_settings
from aiorch.storage import LocalStorage

# The fakes (tests.fakes) run inside the local states service and as job processes:
# those children import them from the repository, whatever their working directory.
REPO_ROOT = Path(__file__).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp("aiorch-data")
    monkeypatch.setenv("AIORCH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def settings(isolated_settings: Settings) -> Settings:
    return isolated_settings


@pytest.fixture
def storage(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.resolved_storage_url)


def photo(size: int = 64, name: str = "astronaut") -> Image.Image:
    """A real photo (scikit-image's sample data), resized to ``size`` px on its longer side."""
    from skimage import data

    image = Image.fromarray(getattr(data, name)())
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    return image.convert("RGB")


def encode(image: Image.Image, fmt: str = "PNG", **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


@pytest.fixture
def photo_png() -> bytes:
    return encode(photo(64))


@pytest.fixture
def photo_path(tmp_path: Path, photo_png: bytes) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(photo_png)
    return path
