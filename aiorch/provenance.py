"""Provenance inside a result file: what made it, signed with the deployment's key.

The record names the operation, its options, the model, the weights (names and sha256, never server
paths), the device, the code version (package and commit) and the execution id. It travels in the
file's own standard metadata slot: a PNG ``iTXt`` chunk, an XMP packet in JPEG (APP1) and WebP
(``XMP `` chunk), so Pillow and any XMP reader can show it.

The signature is HMAC-SHA256, keyed by the deployment's key, over the canonical JSON of the record and
the sha256 of the decoded pixels (their bytes with shape and dtype). Rewriting the file's metadata
leaves the pixels' digest as it was; changing any pixel changes it. A key id (an HMAC of a fixed text,
not the key) tells "signed with another key" apart from "signed with ours, then altered".

Bytes in, bytes out: reading the key and the files is the callers' part (jobs/provenance.py,
aiorch_local/verify_cli.py).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import io
import json
import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, unescape

from PIL import Image

FORMAT = "aiorch-provenance/1"
PNG_KEYWORD = "aiorch:provenance"
XMP_NAMESPACE = "urn:aiorch:provenance:1"
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_ELEMENT = re.compile(rb"<aiorch:provenance>(.*?)</aiorch:provenance>", re.DOTALL)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEY_ID_TEXT = b"aiorch provenance key id"


class Verdict(enum.Enum):
    """What ``verify`` concludes; the value is what the CLI prints."""

    ours_unchanged = "made by this deployment; pixels unchanged"
    ours_pixels_changed = "made by this deployment, but the pixels have changed since"
    other_key = "signed with a different key (not made by this deployment)"
    altered = "signed with this deployment's key, but the provenance was altered since (not verified)"
    unsigned = "unsigned provenance"
    damaged = "the provenance in this file cannot be read"
    absent = "no provenance in this file"

    @property
    def verified(self) -> bool:
        return self is Verdict.ours_unchanged


@dataclass(frozen=True)
class Verification:
    verdict: Verdict
    record: dict[str, Any] | None  # the provenance as written, when it could be read
    pixels_match: bool | None  # the pixels against the digest written with them; None without one


# --- the record --------------------------------------------------------------------------------------


def build_record(
    *,
    operation: str,
    options: dict[str, Any],
    model: str | None,
    weights: list[dict[str, str]],
    fallback: bool,
    device: str | None,
    package_version: str,
    commit: str | None,
    execution_id: str | None,
    created: str,
) -> dict[str, Any]:
    """The provenance record; ``weights`` is a list of ``{"name", "sha256"}`` (file names, no paths)."""
    return {
        "format": FORMAT,
        "operation": operation,
        "options": options,
        "model": model,
        "weights": [{"name": str(w["name"]), "sha256": str(w["sha256"])} for w in weights],
        "fallback": bool(fallback),
        "device": device,
        "version": {"package": package_version, "commit": commit or "unknown"},
        "execution_id": execution_id,
        "created": created,
    }


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, ASCII only, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def file_name_only(reference: str) -> str:
    """The file name of a path or URI (``/srv/models/x.pth``, ``s3://b/k/x.pth?v=1`` → ``x.pth``); other
    text (a package's own description of its weights) as it is."""
    if "://" in reference or reference.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:[\\/]", reference):
        return re.split(r"[\\/]", reference.split("?", 1)[0].rstrip("/\\"))[-1]
    return reference


# --- pixels ------------------------------------------------------------------------------------------


def pixel_digest(shape: tuple[int, ...], dtype: str, data: bytes) -> str:
    """sha256 of a pixel array: its shape and dtype, then its bytes (C order)."""
    digest = hashlib.sha256(canonical_json({"dtype": dtype, "shape": list(shape)}) + b"\n")
    digest.update(data)
    return digest.hexdigest()


def file_pixel_digest(data: bytes) -> str:
    """The pixel digest of an image file's decoded pixels (8-bit L, RGB or RGBA as stored; other modes
    converted to RGB or RGBA first), whatever metadata the file carries."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as opened:
            image: Image.Image = opened
            image.load()
            if image.mode not in ("L", "RGB", "RGBA"):
                has_alpha = "A" in image.getbands() or "transparency" in image.info
                image = image.convert("RGBA" if has_alpha else "RGB")
            bands = len(image.getbands())
            width, height = image.size
            shape = (height, width) if bands == 1 else (height, width, bands)
            return pixel_digest(shape, "uint8", image.tobytes())


# --- signing -----------------------------------------------------------------------------------------


def key_id(key: bytes) -> str:
    """A public name for a key: tells two keys apart without revealing either."""
    return hmac.new(key, _KEY_ID_TEXT, hashlib.sha256).hexdigest()[:16]


def signature(record: dict[str, Any], pixels_sha256: str, key: bytes) -> str:
    message = canonical_json(record) + b"\n" + pixels_sha256.encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal(record: dict[str, Any], pixels_sha256: str, key: bytes | None) -> str:
    """The text written into the file: the record, the pixels' digest and, with a key, its signature."""
    sealed = {
        "provenance": record,
        "pixels_sha256": pixels_sha256,
        "key_id": key_id(key) if key else None,
        "signature": signature(record, pixels_sha256, key) if key else None,
    }
    return canonical_json(sealed).decode("ascii")


def verify(data: bytes, key: bytes | None) -> Verification:
    """Read a file's provenance and check it against ``key`` (this deployment's; None when it has none)."""
    text = read(data)
    if text is None:
        return Verification(Verdict.absent, None, None)
    try:
        sealed = json.loads(text)
        record = sealed["provenance"]
        written_digest = str(sealed["pixels_sha256"])
        written_signature = sealed.get("signature")
        written_key_id = sealed.get("key_id")
        if not isinstance(record, dict):
            raise TypeError("the record is not an object")
    except (ValueError, KeyError, TypeError):
        return Verification(Verdict.damaged, None, None)
    actual_digest = file_pixel_digest(data)
    pixels_match = hmac.compare_digest(actual_digest, written_digest)
    if not written_signature:
        return Verification(Verdict.unsigned, record, pixels_match)
    if key is None or written_key_id != key_id(key):
        return Verification(Verdict.other_key, record, pixels_match)
    if hmac.compare_digest(str(written_signature), signature(record, actual_digest, key)):
        return Verification(Verdict.ours_unchanged, record, True)
    if hmac.compare_digest(str(written_signature), signature(record, written_digest, key)):
        return Verification(Verdict.ours_pixels_changed, record, False)
    return Verification(Verdict.altered, record, pixels_match)


# --- the containers: PNG, JPEG, WebP -------------------------------------------------------------------


def embed(data: bytes, text: str) -> bytes:
    """The file with ``text`` as its provenance (any earlier one replaced); the pixel data untouched."""
    if data.startswith(_PNG_SIGNATURE):
        return _png_embed(data, text)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_embed(data, _xmp_packet(text))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_embed(data, _xmp_packet(text))
    raise ValueError("provenance can be written into PNG, JPEG and WebP files only")


def strip(data: bytes) -> bytes:
    """The file without its provenance (other metadata kept): a file stamped in place, such as a result
    passed through unchanged, gives back the original bytes for PNG and JPEG."""
    if data.startswith(_PNG_SIGNATURE):
        return _png_embed(data, None)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_embed(data, None)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_embed(data, None)
    return data


def read(data: bytes) -> str | None:
    """The provenance text a file carries, or None."""
    try:
        if data.startswith(_PNG_SIGNATURE):
            return _png_read(data)
        if data.startswith(b"\xff\xd8"):
            return _xmp_text(_jpeg_xmp_segments(data))
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _xmp_text([body for fourcc, body in _riff_chunks(data) if fourcc == b"XMP "])
    except (struct.error, IndexError, ValueError):
        return None  # a truncated container: nothing readable in it
    return None


def _xmp_packet(text: str) -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:aiorch="{XMP_NAMESPACE}">'
        f"<aiorch:provenance>{escape(text)}</aiorch:provenance>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def _xmp_text(packets: list[bytes]) -> str | None:
    # A regular expression, not an XML parser: the packet is ours, and foreign XML is never expanded.
    for packet in packets:
        found = _XMP_ELEMENT.search(packet)
        if found:
            return unescape(found.group(1).decode("utf-8"))
    return None


def _is_ours(xmp: bytes) -> bool:
    return XMP_NAMESPACE.encode() in xmp


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks: list[tuple[bytes, bytes]] = []
    at = len(_PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        chunks.append((kind, data[at + 8 : at + 8 + length]))
        at += 12 + length
        if kind == b"IEND":
            break
    return chunks


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png_keyword(body: bytes) -> bytes:
    return body.split(b"\x00", 1)[0]


def _png_embed(data: bytes, text: str | None) -> bytes:
    """``data`` with ``text`` as its provenance chunk; with None, with none."""
    keyword = PNG_KEYWORD.encode("latin-1")
    # iTXt: keyword, 0, compression flag 0, method 0, no language tag, no translated keyword, UTF-8 text.
    ours = b"" if text is None else _png_chunk(b"iTXt", keyword + b"\x00\x00\x00\x00\x00" + text.encode("utf-8"))
    out, placed = [_PNG_SIGNATURE], False
    for kind, body in _png_chunks(data):
        if kind in (b"iTXt", b"tEXt", b"zTXt") and _png_keyword(body) == keyword:
            continue  # an earlier provenance (the input's own, passed through)
        if kind in (b"IDAT", b"IEND") and not placed:
            out.append(ours)
            placed = True
        out.append(_png_chunk(kind, body))
    return b"".join(out)


def _png_read(data: bytes) -> str | None:
    keyword = PNG_KEYWORD.encode("latin-1")
    for kind, body in _png_chunks(data):
        if kind == b"iTXt" and _png_keyword(body) == keyword:
            rest = body[len(keyword) + 1 :]
            if rest[0] != 0:
                return zlib.decompress(rest[2:].split(b"\x00", 2)[2]).decode("utf-8")
            return rest[2:].split(b"\x00", 2)[2].decode("utf-8")
        if kind == b"tEXt" and _png_keyword(body) == keyword:
            return body[len(keyword) + 1 :].decode("latin-1")
    return None


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """The marker segments before the scan data ((marker, whole segment)), and where the scan begins."""
    segments: list[tuple[int, bytes]] = []
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            raise ValueError("not a JPEG marker")
        marker = data[at + 1]
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return segments, at
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        segments.append((marker, data[at : at + 2 + length]))
        at += 2 + length
    raise ValueError("the JPEG has no scan")


def _jpeg_xmp_segments(data: bytes) -> list[bytes]:
    segments, _ = _jpeg_segments(data)
    return [s[4 + len(_XMP_HEADER) :] for marker, s in segments if marker == 0xE1 and s[4:].startswith(_XMP_HEADER)]


def _jpeg_embed(data: bytes, packet: bytes | None) -> bytes:
    """``data`` with ``packet`` as its provenance segment; with None, with none."""
    ours = b""
    if packet is not None:
        body = _XMP_HEADER + packet
        if len(body) + 2 > 0xFFFF:
            raise ValueError("the provenance is too long for one JPEG XMP segment")
        ours = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    segments, scan = _jpeg_segments(data)
    kept = [
        (marker, s) for marker, s in segments if not (marker == 0xE1 and s[4:].startswith(_XMP_HEADER) and _is_ours(s))
    ]
    # JFIF wants its APP0 first: the XMP segment goes right after the leading APP0 segments.
    leading = 0
    while leading < len(kept) and kept[leading][0] == 0xE0:
        leading += 1
    parts = [s for _, s in kept[:leading]] + [ours] + [s for _, s in kept[leading:]]
    return data[:2] + b"".join(parts) + data[scan:]


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks: list[tuple[bytes, bytes]] = []
    at, end = 12, min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    while at + 8 <= end:
        fourcc, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        chunks.append((fourcc, data[at + 8 : at + 8 + size]))
        at += 8 + size + (size & 1)
    return chunks


def _riff_chunk(fourcc: bytes, body: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


_VP8X_XMP = 0x04
_VP8X_ALPHA = 0x10


def _webp_canvas(fourcc: bytes, body: bytes) -> tuple[int, int, bool]:
    """(width, height, has alpha) of a simple WebP's one image chunk."""
    if fourcc == b"VP8L":  # 0x2f, then 14 bits width-1, 14 bits height-1, 1 bit alpha used
        bits = struct.unpack("<I", body[1:5])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
    if fourcc == b"VP8 ":  # frame tag (3), start code 9d 01 2a, then 14-bit width and height
        if body[3:6] != b"\x9d\x01\x2a":
            raise ValueError("not a VP8 key frame")
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    raise ValueError(f"unexpected WebP chunk {fourcc!r}")


def _webp_embed(data: bytes, packet: bytes | None) -> bytes:
    """``data`` with ``packet`` as its XMP chunk (a file has one at most: it replaces any); with None,
    without our provenance."""
    chunks = _riff_chunks(data)
    if packet is None:
        if not any(fourcc == b"XMP " and _is_ours(body) for fourcc, body in chunks):
            return data
        chunks = [(fourcc, body) for fourcc, body in chunks if fourcc != b"XMP "]
        if chunks and chunks[0][0] == b"VP8X":
            chunks[0] = (b"VP8X", bytes([chunks[0][1][0] & ~_VP8X_XMP]) + chunks[0][1][1:])
        return _riff(chunks)
    chunks = [(fourcc, body) for fourcc, body in chunks if fourcc != b"XMP "]
    if not chunks:
        raise ValueError("the WebP file has no image")
    if chunks[0][0] == b"VP8X":
        chunks[0] = (b"VP8X", bytes([chunks[0][1][0] | _VP8X_XMP]) + chunks[0][1][1:])
    else:  # the simple format has no room for metadata: the extended one starts with a VP8X header
        width, height, alpha = _webp_canvas(*chunks[0])
        flags = _VP8X_XMP | (_VP8X_ALPHA if alpha else 0)
        header = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", header))
    chunks.append((b"XMP ", packet))
    return _riff(chunks)


def _riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WEBP" + b"".join(_riff_chunk(fourcc, chunk) for fourcc, chunk in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
