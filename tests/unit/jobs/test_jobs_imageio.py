"""Image I/O: every input becomes upright float32 RGB, alpha and RGB ICC profiles travel beside it,
and broken or oversized files are refused with a clear message."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from jobs.contract import JobFailure
from jobs.imageio import (
    apply_orientation,
    decode_image,
    decode_mask,
    encode_image,
    encode_mask,
    encode_thumbnail,
    output_format,
    thumbnail_size,
)
from tests.unit.jobs.job_images import (
    astronaut,
    encoded,
    png_header_only,
    sixteen_bit_rgb_png,
    with_exif_orientation,
)

LIMIT = 10_000_000


def as_float(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def test_rgb_png_decodes_to_float32_rgb_exactly() -> None:
    photo = astronaut(64)
    decoded = decode_image(encoded(photo), LIMIT)
    assert decoded.rgb.dtype == np.float32 and decoded.rgb.shape == (64, 64, 3)
    assert decoded.alpha is None and decoded.format == "png" and decoded.source_mode == "RGB"
    np.testing.assert_array_equal(decoded.rgb, as_float(photo))


def test_grayscale_becomes_three_equal_channels() -> None:
    gray = astronaut(32).convert("L")
    decoded = decode_image(encoded(gray), LIMIT)
    assert decoded.rgb.shape == (32, 32, 3)
    np.testing.assert_array_equal(decoded.rgb[..., 0], np.asarray(gray) / np.float32(255))
    np.testing.assert_array_equal(decoded.rgb[..., 0], decoded.rgb[..., 2])


def test_palette_image_decodes_to_its_colours() -> None:
    palette = astronaut(32).quantize(colors=16)
    decoded = decode_image(encoded(palette), LIMIT)
    np.testing.assert_array_equal(decoded.rgb, as_float(palette))
    assert decoded.alpha is None and decoded.source_mode == "P"


def test_palette_with_transparency_keeps_alpha() -> None:
    palette = astronaut(32).quantize(colors=16)
    palette.info["transparency"] = 0
    data = encoded(palette, transparency=0)
    decoded = decode_image(data, LIMIT)
    assert decoded.alpha is not None
    index_zero = np.asarray(palette) == 0
    assert index_zero.any()
    np.testing.assert_array_equal(decoded.alpha == 0, index_zero)


def test_rgba_alpha_is_kept_separately() -> None:
    rgba = astronaut(32).convert("RGBA")
    alpha = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (32, 1))
    rgba.putalpha(Image.fromarray(alpha))
    decoded = decode_image(encoded(rgba), LIMIT)
    assert decoded.alpha is not None
    np.testing.assert_array_equal(decoded.alpha, alpha / np.float32(255))
    np.testing.assert_array_equal(decoded.rgb, np.asarray(rgba)[..., :3] / np.float32(255))


def test_gray_with_alpha_keeps_alpha() -> None:
    la = astronaut(16).convert("LA")
    decoded = decode_image(encoded(la), LIMIT)
    assert decoded.alpha is not None and decoded.rgb.shape == (16, 16, 3)


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    photo = astronaut(32)
    decoded = decode_image(encoded(photo.convert("CMYK"), "JPEG", quality=95), LIMIT)
    assert decoded.source_mode == "CMYK" and decoded.rgb.shape == (32, 32, 3)
    assert np.abs(decoded.rgb - as_float(photo)).mean() < 0.05  # JPEG loss only, no inverted colours


def test_sixteen_bit_grayscale_keeps_its_precision() -> None:
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    decoded = decode_image(encoded(Image.fromarray(ramp)), LIMIT)
    np.testing.assert_allclose(decoded.rgb[..., 1], ramp / np.float32(65535), atol=1e-6)
    assert len(np.unique(decoded.rgb)) > 256  # more levels than 8 bits could hold


def test_sixteen_bit_rgb_png_keeps_its_precision() -> None:
    pixels = (np.random.default_rng(0).integers(0, 65536, (16, 24, 3))).astype(np.uint16)
    decoded = decode_image(sixteen_bit_rgb_png(pixels), LIMIT)
    assert decoded.rgb.shape == (16, 24, 3)
    np.testing.assert_allclose(decoded.rgb, pixels / np.float32(65535), atol=1e-6)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(orientation: int) -> None:
    data = with_exif_orientation(astronaut(32).resize((40, 24)), orientation)
    expected = as_float(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    decoded = decode_image(data, LIMIT)
    assert decoded.rgb.shape == expected.shape
    np.testing.assert_array_equal(decoded.rgb, expected)


def test_apply_orientation_turns_a_sideways_photo_upright() -> None:
    pixels = np.arange(6).reshape(2, 3)
    assert apply_orientation(pixels, 6).shape == (3, 2)
    np.testing.assert_array_equal(apply_orientation(pixels, 6), np.rot90(pixels, -1))
    np.testing.assert_array_equal(apply_orientation(pixels, 1), pixels)


def test_rgb_icc_profile_is_kept_and_written_back() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    decoded = decode_image(encoded(astronaut(16), icc_profile=profile), LIMIT)
    assert decoded.icc_profile == profile
    out = encode_image(decoded.rgb, icc_profile=decoded.icc_profile)
    assert Image.open(io.BytesIO(out)).info.get("icc_profile") == profile


def test_cmyk_with_an_unusable_profile_still_decodes_and_drops_the_profile() -> None:
    bogus_cmyk_profile = b"\x00" * 16 + b"CMYK" + b"\x00" * 108
    data = encoded(astronaut(16).convert("CMYK"), "JPEG", quality=95, icc_profile=bogus_cmyk_profile)
    decoded = decode_image(data, LIMIT)
    assert decoded.rgb.shape == (16, 16, 3) and decoded.icc_profile is None
    assert any("without its ICC profile" in note for note in decoded.notes)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"this is a text file, not a picture", "not an image"),
        (encoded(astronaut(64), "JPEG")[:600], "damaged or incomplete"),
        (encoded(astronaut(64), "PNG")[:900], "damaged or incomplete"),
    ],
    ids=["empty", "text", "truncated-jpeg", "truncated-png"],
)
def test_broken_files_fail_with_a_plain_message(data: bytes, expected: str) -> None:
    with pytest.raises(JobFailure) as failure:
        decode_image(data, LIMIT)
    assert expected in failure.value.message
    assert failure.value.type == "BadImage"


def test_too_many_pixels_is_refused_from_the_header_alone() -> None:
    # The pixel data is garbage: only a check made before decoding gives this error.
    with pytest.raises(JobFailure) as failure:
        decode_image(png_header_only(5000, 4000), max_pixels=LIMIT)
    assert failure.value.type == "ImageTooLarge"
    assert "5000x4000" in failure.value.message and "10,000,000" in failure.value.message


def test_pillows_own_bomb_limit_gives_the_same_clear_error() -> None:
    with pytest.raises(JobFailure) as failure:
        decode_image(png_header_only(20000, 20000), max_pixels=LIMIT)
    assert failure.value.type == "ImageTooLarge"


@pytest.mark.parametrize(("fmt", "pillow_name"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_encode_writes_the_requested_format(fmt: str, pillow_name: str) -> None:
    rgb = as_float(astronaut(32))
    out = Image.open(io.BytesIO(encode_image(rgb, format=fmt, quality=90)))
    assert out.format == pillow_name and out.size == (32, 32)
    assert np.abs(as_float(out) - rgb).mean() < 0.03


def test_png_round_trip_is_lossless_and_keeps_alpha() -> None:
    rgb = as_float(astronaut(16))
    alpha = np.linspace(0, 1, 16 * 16, dtype=np.float32).reshape(16, 16)
    out = Image.open(io.BytesIO(encode_image(rgb, alpha=alpha)))
    assert out.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(out)[..., :3] / np.float32(255), rgb)


def test_jpeg_quality_changes_the_size() -> None:
    rgb = as_float(astronaut(64))
    assert len(encode_image(rgb, format="jpeg", quality=30)) < len(encode_image(rgb, format="jpeg", quality=95))


def test_jpeg_flattens_transparency_onto_white() -> None:
    rgb = np.zeros((8, 8, 3), np.float32)
    alpha = np.zeros((8, 8), np.float32)
    out = Image.open(io.BytesIO(encode_image(rgb, alpha=alpha, format="jpeg")))
    assert out.mode == "RGB" and np.asarray(out).min() > 250


def test_unknown_format_and_bad_quality_are_clear_errors() -> None:
    with pytest.raises(JobFailure, match="Unknown output format 'gif'"):
        output_format("gif")
    with pytest.raises(JobFailure, match="from 1 to 100"):
        encode_image(np.zeros((4, 4, 3), np.float32), format="jpeg", quality=0)


def test_mask_any_nonzero_pixel_is_masked() -> None:
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[2, 3] = (0, 1, 0)
    pixels[5, 5] = (255, 255, 255)
    mask = decode_mask(encoded(Image.fromarray(pixels)), LIMIT)
    assert mask.dtype == bool and mask.sum() == 2 and mask[2, 3] and mask[5, 5]


def test_mask_with_transparency_uses_the_painted_pixels() -> None:
    painted = np.zeros((8, 8, 4), np.uint8)
    painted[1:3, 1:3] = (0, 0, 0, 255)  # black strokes, but painted
    mask = decode_mask(encoded(Image.fromarray(painted, "RGBA")), LIMIT)
    assert mask.sum() == 4 and mask[1:3, 1:3].all()


def test_encode_mask_round_trips() -> None:
    mask = np.zeros((5, 7), bool)
    mask[1, 2] = True
    decoded = np.asarray(Image.open(io.BytesIO(encode_mask(mask))))
    np.testing.assert_array_equal(decoded > 0, mask)


@pytest.mark.parametrize(
    ("size", "expected"),
    [((4000, 3000), (256, 192)), ((3000, 4000), (192, 256)), ((100, 40), (100, 40)), ((9000, 10), (256, 1))],
)
def test_thumbnail_size_keeps_the_aspect_ratio_and_never_scales_up(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert thumbnail_size(*size) == expected


def test_a_thumbnail_is_a_small_webp_that_looks_like_the_result() -> None:
    photo = as_float(astronaut(512).resize((1000, 600)))  # a large, wide result
    thumb = encode_thumbnail(photo)
    image = Image.open(io.BytesIO(thumb.data))
    assert image.format == "WEBP" and image.size == (thumb.width, thumb.height) == (256, 154)
    expected = as_float(Image.fromarray((photo * 255).astype(np.uint8)).resize((256, 154), Image.Resampling.BOX))
    assert np.abs(as_float(image) - expected).mean() < 0.04  # the same picture, not an aliased one


def test_a_thumbnail_keeps_transparency_or_flattens_it_like_a_jpeg() -> None:
    photo = np.zeros((300, 400, 3), np.float32)  # black
    alpha = np.zeros((150, 200), np.float32)  # another size than the result (an upscale's input alpha)
    alpha[:, 100:] = 1.0  # right half opaque
    kept = Image.open(io.BytesIO(encode_thumbnail(photo, alpha=alpha).data))
    assert kept.mode == "RGBA" and kept.size == (256, 192)
    kept_alpha = np.asarray(kept)[..., 3]
    assert kept_alpha[:, :100].max() < 16 and kept_alpha[:, 156:].min() > 240
    flat = np.asarray(Image.open(io.BytesIO(encode_thumbnail(photo, alpha=alpha, opaque=True).data)))
    assert flat.shape == (192, 256, 3) and flat[:, :100].min() > 230 and flat[:, 156:].max() < 25  # white | black


def test_a_mask_result_gets_a_thumbnail_too() -> None:
    mask = np.zeros((64, 32), bool)
    mask[:32] = True
    image = np.asarray(Image.open(io.BytesIO(encode_thumbnail(mask).data)).convert("L"))
    assert image.shape == (64, 32) and image[:28].min() > 230 and image[36:].max() < 25
