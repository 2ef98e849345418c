"""ValidateInput refuses bad requests with a plain-words InvalidRequest, and prepares the jobs."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from aiorch.contracts import AnalysisRequest
from aiorch.storage import LocalStorage
from lambdas.validate_input.handler import handler
from lambdas.validate_input.validation import InvalidRequest, validate_request
from tests.conftest import encode, photo

USER = "alice"


def request(**overrides: object) -> AnalysisRequest:
    fields: dict = {
        "execution_id": "01JEXEC",
        "user": USER,
        "operation": "upscale",
        "input_key": f"uploads/{USER}/u1/original.png",
    }
    fields.update(overrides)
    return AnalysisRequest(**fields)


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size (a decompression bomb) with almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture
def uploaded(storage: LocalStorage, photo_png: bytes) -> LocalStorage:
    storage.put_bytes(f"uploads/{USER}/u1/original.png", photo_png)
    return storage


def test_upscale_request_becomes_one_job_with_uris(uploaded, settings) -> None:
    validated = validate_request(request(options={"outscale": 2}), uploaded, settings)
    assert validated.operation == "upscale"
    assert (validated.width, validated.height, validated.format) == (64, 64, "PNG")
    assert list(validated.jobs) == ["Upscale"]
    job = validated.jobs["Upscale"]
    assert job.command[0] == "upscale"
    assert job.command[job.command.index("--input") + 1] == uploaded.uri(f"uploads/{USER}/u1/original.png")
    assert job.command[job.command.index("--output") + 1].endswith(f"results/{USER}/01JEXEC/upscale/")
    assert job.command[job.command.index("--options") + 1] == '{"outscale": 2}'


def test_inpaint_chains_detect_text_mask_into_inpaint(uploaded, settings, photo_png) -> None:
    uploaded.put_bytes(f"uploads/{USER}/m1/original.png", photo_png)
    validated = validate_request(
        request(operation="inpaint", mask_key=f"uploads/{USER}/m1/original.png"), uploaded, settings
    )
    assert list(validated.jobs) == ["DetectText", "Inpaint"]
    detect, inpaint = validated.jobs["DetectText"].command, validated.jobs["Inpaint"].command
    assert detect[detect.index("--mask") + 1] == uploaded.uri(f"uploads/{USER}/m1/original.png")
    assert inpaint[inpaint.index("--mask") + 1] == uploaded.uri(f"results/{USER}/01JEXEC/detect-text/mask.png")


@pytest.mark.parametrize(
    ("overrides", "content", "message"),
    [
        ({"operation": "sharpen"}, None, "unknown operation 'sharpen'"),
        ({}, b"this is not an image at all", "not an image"),
        ({}, b"", "empty file"),
        ({"input_key": "uploads/bob/u1/original.png"}, None, "not one of your uploads"),
        ({"input_key": f"uploads/{USER}/../bob/x.png"}, None, "not one of your uploads"),
        ({"input_key": f"uploads/{USER}/missing/original.png"}, None, "does not exist"),
        ({"options": {"bogus": 1}}, None, "unknown option"),
        ({"options": {"tile": [1, 2]}}, None, r"option 'tile' must be a whole number from 0 to 8192 px, not \[1, 2\]"),
        ({"options": {"outscale": 100}}, None, "option 'outscale' must be a number greater than 0 and at most 16"),
        ({"options": {"weights": "/etc/passwd"}}, None, "option 'weights' is an operator setting"),
        ({"mask_key": f"uploads/{USER}/u1/original.png"}, None, "only used by the inpaint"),
    ],
)
def test_refusals_are_clear(uploaded, settings, overrides, content, message) -> None:
    if content is not None:
        uploaded.put_bytes(f"uploads/{USER}/u1/original.png", content)
    with pytest.raises(InvalidRequest, match=message):
        validate_request(request(**overrides), uploaded, settings)


def test_truncated_image_is_refused_before_any_job(uploaded, settings) -> None:
    whole = encode(photo(256), "JPEG", quality=90)
    uploaded.put_bytes(f"uploads/{USER}/u1/original.png", whole[: len(whole) // 2])
    with pytest.raises(InvalidRequest, match="damaged or truncated"):
        validate_request(request(), uploaded, settings)


def test_pixels_are_not_decoded_here_only_the_structure_is_checked(uploaded, settings, monkeypatch) -> None:
    """W6: a whole batch of large PNGs decoded in a 45 s Lambda could time out; the structural check
    (the one the upload runs) is what ValidateInput does, and the job decodes."""
    from PIL import Image, ImageFile

    def no_decode(self, *args, **kwargs):
        raise AssertionError("ValidateInput decoded the pixels")

    monkeypatch.setattr(Image.Image, "load", no_decode)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    validated = validate_request(request(), uploaded, settings)
    assert validated.jobs  # accepted, from the header and the structure alone


def test_too_many_pixels_is_refused_without_decoding(uploaded, settings) -> None:
    uploaded.put_bytes(f"uploads/{USER}/u1/original.png", huge_png_header(5000, 5000))
    with pytest.raises(InvalidRequest, match=r"25\.0 megapixels; the limit for this operation is 4 megapixels"):
        validate_request(request(), uploaded, settings)
    uploaded.put_bytes(f"uploads/{USER}/u1/original.png", huge_png_header(100_000, 100_000))
    # Past Pillow's own decompression-bomb limit too: still named with its numbers, never "not an image".
    with pytest.raises(InvalidRequest, match=r"^the input image is 100000×100000 = 10000\.0 megapixels; the limit "):
        validate_request(request(operation="denoise"), uploaded, settings)


def test_an_image_below_the_minimum_side_fails_here_in_the_upload_checks_words(uploaded, settings) -> None:
    # In AWS the browser uploads straight to S3 (a presigned POST), so ValidateInput is where it is caught.
    from aiorch.analysis.media import min_side_problem
    from aiorch.operations import MIN_SIDE_PX

    uploaded.put_bytes(f"uploads/{USER}/u1/original.png", encode(photo(12)))
    with pytest.raises(InvalidRequest) as refused:
        validate_request(request(operation="denoise"), uploaded, settings)
    assert str(refused.value) == min_side_problem(12, 12, MIN_SIDE_PX)
    assert str(refused.value) == "the input image is 12×12; each side must be at least 16 pixels"


def test_byte_limit(uploaded, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "upload_max_bytes", 100)
    # 100 bytes is named as such: "0 MB" (the old rounding) told the user nothing.
    with pytest.raises(InvalidRequest, match=r"the limit is 100 bytes"):
        validate_request(request(), uploaded, settings)


def test_unsupported_format_is_refused(uploaded, settings) -> None:
    uploaded.put_bytes(f"uploads/{USER}/u1/original.png", encode(photo(32), "GIF"))
    with pytest.raises(InvalidRequest, match="GIF"):
        validate_request(request(), uploaded, settings)


def test_handler_returns_plain_json_and_raises_invalid_request(uploaded) -> None:
    out = handler({"request": request().model_dump(mode="json")}, None)
    assert out["jobs"]["Upscale"]["name"] == "01JEXEC-upscale"
    with pytest.raises(InvalidRequest, match="malformed"):
        handler({"request": {"operation": "upscale"}}, None)
    with pytest.raises(InvalidRequest, match="malformed"):
        handler({}, None)


def batch_of(storage: LocalStorage, *contents: bytes) -> list[str]:
    keys = [f"uploads/{USER}/b{i}/original.png" for i in range(len(contents))]
    for key, content in zip(keys, contents, strict=True):
        storage.put_bytes(key, content)
    return keys


def test_a_batch_is_cut_into_chunks_and_a_bad_image_is_refused_alone(storage, settings, photo_png) -> None:
    keys = batch_of(storage, photo_png, b"not an image", photo_png, photo_png, photo_png)
    settings.batch_chunk_images = 2
    validated = validate_request(request(operation="inpaint", input_key=keys[0], input_keys=keys), storage, settings)
    assert validated.batch and validated.jobs == {}
    assert [(r.index, "not an image" in r.message) for r in validated.rejected] == [(1, True)]
    assert [c.images for c in validated.chunks] == [[0, 2], [3, 4]]
    detect, inpaint = validated.chunks[1].jobs  # a chunk's jobs in order, each over the chunk's images
    assert (detect.kind, inpaint.kind, inpaint.name) == ("detect-text", "inpaint", "01JEXEC-inpaint-1")
    manifest = json.loads(inpaint.command[inpaint.command.index("--batch") + 1])
    assert [m["input"] for m in manifest] == [storage.uri(keys[3]), storage.uri(keys[4])]
    assert manifest[0]["output"].endswith(f"results/{USER}/01JEXEC/inpaint/003/")
    assert manifest[0]["mask"].endswith(f"results/{USER}/01JEXEC/detect-text/003/mask.png")  # its own OCR mask


def test_a_batch_refuses_a_mask_too_many_images_or_no_image_that_can_run(storage, settings, photo_png) -> None:
    keys = batch_of(storage, photo_png, photo_png)
    with pytest.raises(InvalidRequest, match="a mask belongs to one image"):
        validate_request(request(input_keys=keys, mask_key=keys[1], operation="inpaint"), storage, settings)
    settings.batch_max_images = 1
    with pytest.raises(InvalidRequest, match="at most 1 images, not 2"):
        validate_request(request(input_keys=keys), storage, settings)
    settings.batch_max_images = 50
    bad = batch_of(storage, b"one", b"two")
    with pytest.raises(InvalidRequest, match=r"^none of the 2 images can run; image 1: the file is not an image"):
        validate_request(request(input_keys=bad), storage, settings)
