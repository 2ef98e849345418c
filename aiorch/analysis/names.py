"""Names a person gives and gets: the upload's original file name, kept sanitised beside the upload,
and the download names of its results (``photo.jpg`` upscaled downloads as ``photo-upscaled.png``)."""

from __future__ import annotations

import posixpath
import unicodedata

from aiorch.registry import OPERATIONS

MAX_NAME_CHARS = 120  # of the stem: a name stays well inside every file system's 255-byte limit
# What a result's download name says was done, as each operation's registry module words it.
PAST_TENSE = {name: definition.done for name, definition in OPERATIONS.items()}


def original_name_key(upload_key: str) -> str:
    """Where an upload's original name is kept: ``uploads/{user}/{upload}/name.json``."""
    return posixpath.dirname(upload_key) + "/name.json"


def sanitise_name(name: str) -> str | None:
    """The name's last path part with control characters (newlines included), quotes, backslashes and
    leading dots removed, Unicode kept (NFC) and the stem cut to MAX_NAME_CHARS; None when nothing is left."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '"*:<>?|').strip().lstrip(".")
    if not kept:
        return None
    stem, dot, ext = kept.rpartition(".")
    if not dot or not stem:
        stem, ext = kept, ""
    stem = stem[:MAX_NAME_CHARS].rstrip() or "image"
    return f"{stem}.{ext[:16]}" if ext else stem


def download_name(original: str | None, operation: str, execution_id: str, result_key: str) -> str:
    """A result's download name: the original's stem, what was done, the result's own extension."""
    ext = posixpath.splitext(result_key)[1]
    done = PAST_TENSE.get(operation, operation)
    if original:
        return f"{posixpath.splitext(original)[0]}-{done}{ext}"
    return f"{operation}-{execution_id}{ext}"
