"""The upload check reads an image's header only: a valid image too large in pixels is named as such."""

from __future__ import annotations

import warnings

import pytest

from aiorch.analysis.errors import BadRequest
from aiorch.analysis.media import sniff_image
from tests.unit.jobs.job_images import encoded, png_header_only

LIMIT = 40_000_000  # the largest of the local operations' limits


def test_a_60000_square_png_is_too_large_with_its_numbers_not_a_non_image() -> None:
    # 3.6 gigapixels: past twice Pillow's MAX_IMAGE_PIXELS, where Image.open raises DecompressionBombError.
    with pytest.raises(BadRequest) as refused:
        sniff_image(png_header_only(60000, 60000), LIMIT)
    assert refused.value.message == (
        "the input image is 60000×60000 = 3600.0 megapixels; no operation accepts more than 40 megapixels"
    )


def test_between_pillows_warning_and_error_is_refused_by_our_limit_without_a_warning() -> None:
    # 100 MP: over Pillow's MAX_IMAGE_PIXELS (about 89 MP), under twice it: Pillow would only warn.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning escaping would fail the test
        with pytest.raises(BadRequest, match=r"^the input image is 10000×10000 = 100\.0 megapixels; "):
            sniff_image(png_header_only(10000, 10000), LIMIT)


def test_an_image_within_the_limit_is_read_from_its_header() -> None:
    assert sniff_image(png_header_only(5000, 8000), LIMIT) == ("PNG", 5000, 8000)  # exactly 40 MP, no pixels
    from PIL import Image

    assert sniff_image(encoded(Image.new("RGB", (32, 16)), "JPEG"), LIMIT) == ("JPEG", 32, 16)


def test_an_image_below_the_minimum_side_is_refused_in_the_browsers_words() -> None:
    """The words of frontend/src/lib/precheck.ts and of ValidateInput (a 1×1 "upscaled" is a blotch)."""
    from PIL import Image

    with pytest.raises(BadRequest) as refused:
        sniff_image(encoded(Image.new("RGB", (64, 15)), "PNG"), LIMIT)
    assert refused.value.message == "the input image is 64×15; each side must be at least 16 pixels"


def test_text_is_still_not_an_image() -> None:
    with pytest.raises(BadRequest, match=r"^the file is not an image \(accepted: PNG, JPEG, WebP, TIFF, BMP\)$"):
        sniff_image(b"hello, I am text", LIMIT)


def test_a_png_cut_short_after_its_header_is_judged_by_the_size_it_claims() -> None:
    """The browser measures a PNG from its first 33 bytes; the server says the same of the same bytes."""
    cut = png_header_only(60000, 60000)[:33]  # signature and IHDR only: Pillow cannot identify it
    with pytest.raises(BadRequest, match=r"^the input image is 60000×60000 = 3600\.0 megapixels; no operation "):
        sniff_image(cut, LIMIT)
    with pytest.raises(BadRequest, match=r"^the file is a damaged or truncated PNG \(its header says 64×48\)$"):
        sniff_image(png_header_only(64, 48)[:33], LIMIT)
    broken_crc = cut[:29] + b"\0\0\0\0"
    with pytest.raises(BadRequest, match="not an image"):
        sniff_image(broken_crc, LIMIT)
