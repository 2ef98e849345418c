"""A PNG or JPEG cut short is refused at the upload (and by ValidateInput, which reads the header with
the same function) by one cheap structural check: PNG chunk lengths up to IEND, JPEG segments up to the
scan and then its end-of-image marker. No pixel is decoded."""

from __future__ import annotations

import io
from pathlib import Path

import hypothesis
import pytest
from hypothesis import strategies
from PIL import Image

from aiorch.analysis import BadRequest
from aiorch.analysis.media import sniff_image, truncation_problem
from aiorch.storage import LocalStorage
from lambdas.validate_input.validation import InvalidRequest, inspect_image
from tests.conftest import photo

LIMIT = 40_000_000


def encoded(fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    photo(64).convert("RGB").save(out, fmt, **params)
    return out.getvalue()


PNG = encoded("PNG")
JPEG = encoded("JPEG", quality=85)
PROGRESSIVE = encoded("JPEG", progressive=True)


def with_thumbnail_segment(jpeg: bytes) -> bytes:
    """An APP1 segment holding a whole JPEG (as an EXIF thumbnail does), end-of-image marker included."""
    thumb = encoded("JPEG", quality=30)[:200] + b"\xff\xd9"
    segment = b"\xff\xe1" + (len(thumb) + 2).to_bytes(2, "big") + thumb
    return jpeg[:2] + segment + jpeg[2:]


@pytest.mark.parametrize(
    "data", [PNG, JPEG, PROGRESSIVE, with_thumbnail_segment(JPEG)], ids=["png", "jpeg", "progressive", "thumbnail"]
)
def test_whole_images_pass(data: bytes) -> None:
    assert sniff_image(data, LIMIT)[1:] == (64, 64)


def test_bytes_after_a_jpegs_end_are_no_truncation() -> None:
    assert truncation_problem(JPEG + b"trailer written by a camera", "JPEG") is None


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (PNG[:-12], "ends before its IEND chunk"),  # the IEND chunk gone
        (PNG[: len(PNG) // 2], "truncated PNG"),
        (PNG[:-1], "'IEND' chunk is cut short"),
        (JPEG[:-2], "ends before its end-of-image marker"),
        (JPEG[: len(JPEG) // 2], "truncated JPEG"),
        (PROGRESSIVE[: len(PROGRESSIVE) - 100], "truncated JPEG"),
        (with_thumbnail_segment(JPEG)[:-2], "end-of-image marker"),  # the thumbnail's marker does not count
    ],
)
def test_images_cut_short_are_refused_in_plain_words(data: bytes, words: str) -> None:
    with pytest.raises(BadRequest, match=words):
        sniff_image(data, LIMIT)


@hypothesis.settings(max_examples=150, deadline=None, database=None)
@hypothesis.given(data=strategies.sampled_from([PNG, JPEG, PROGRESSIVE]), cut=strategies.integers(1, 10**6))
def test_every_prefix_of_an_image_is_refused(data: bytes, cut: int) -> None:
    prefix = data[: max(40, len(data) - cut)]
    with pytest.raises(BadRequest):
        sniff_image(prefix, LIMIT)


def test_validate_input_refuses_a_truncated_jpeg_from_its_header_check(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    storage.put_bytes("uploads/u/1/original.jpg", JPEG[:-2])
    with pytest.raises(InvalidRequest, match="truncated JPEG: it ends before its end-of-image marker"):
        inspect_image(storage, "uploads/u/1/original.jpg", "u", 10**8, LIMIT, "input image")


def test_an_upload_cut_short_is_refused_before_it_is_stored(tmp_path: Path) -> None:
    from aiorch.analysis import AnalysisService
    from aiorch.settings import Settings
    from tests.fakes.states import FakeStates

    service = AnalysisService(Settings(data_dir=tmp_path), states_client=FakeStates())
    with pytest.raises(BadRequest, match="truncated PNG"):
        service.store_upload("u", PNG[:-12])
    assert not list(service.storage.list("uploads/"))
    assert Image.open(io.BytesIO(PNG[:-12])).size == (64, 64)  # Pillow's header read alone let it through
