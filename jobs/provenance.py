"""The jobs' side of aiorch/provenance.py: the deployment's key, and each result file stamped with what
made it (operation, options, model, weights, device, code version, execution id) before it is written.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiorch
from aiorch import provenance
from aiorch.settings import Settings
from aiorch.storage import LocalStorage
from jobs import build_info

log = logging.getLogger(__name__)

# results/{user}/{execution}/{job}/ or, for a batch image, .../{job}/NNN/ (aiorch/keys.py).
_RESULT_PREFIX = re.compile(r"(?:^|/)results/[^/]+/(?P<execution>[^/]+)/[^/]+/(?:\d{3}/)?$")


def default_key_file(settings: Settings) -> Path:
    return settings.data_dir / "auth" / "provenance-key"


def provenance_key(settings: Settings, *, create: bool) -> bytes | None:
    """The deployment's key: the setting, else the key file. The default file is created on first use
    when ``create`` (a job signing); a file named in the settings is only read. None: no key."""
    if settings.provenance_key is not None:
        value = settings.provenance_key.get_secret_value().strip()
        return value.encode() or None
    path = settings.provenance_key_file or default_key_file(settings)
    if not path.is_file() and create and settings.provenance_key_file is None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        LocalStorage(path.parent).put_if_absent(path.name, secrets.token_hex(32).encode())
    if not path.is_file():
        return None
    return path.read_bytes().strip() or None


def execution_id_from_prefix(prefix: str) -> str | None:
    """The execution id in a result prefix (a key or a URI) laid out as aiorch/keys.py builds it; None for
    any other place."""
    found = _RESULT_PREFIX.search(prefix)
    return found.group("execution") if found else None


def weights_named(metadata: dict[str, Any]) -> list[dict[str, str]]:
    """The weights a result's metadata names, as {name, sha256} with file names only (no server paths)."""
    sha = metadata.get("weights_sha256")
    if isinstance(sha, dict):  # several files (detect-text's OCR models), already by file name
        return [{"name": provenance.file_name_only(str(name)), "sha256": str(value)} for name, value in sha.items()]
    if not isinstance(sha, str):
        return []  # a classical method or a fallback: no weights
    label = metadata.get("weights")
    name = provenance.file_name_only(str(label)) if label else str(metadata.get("model") or "unnamed")
    return [{"name": name, "sha256": sha}]


def options_without_paths(options: dict[str, Any]) -> dict[str, Any]:
    """The options as given, a weights path or URI reduced to its file name."""
    cleaned = dict(options)
    if isinstance(cleaned.get("weights"), str):
        cleaned["weights"] = provenance.file_name_only(cleaned["weights"])
    return cleaned


def stamp(
    data: bytes,
    *,
    job: str,
    options: dict[str, Any],
    operation_metadata: dict[str, Any],
    output_prefix: str,
    settings: Settings,
    notes: list[str],
) -> bytes:
    """The result file with its provenance written in, signed when the deployment has a key.

    The pixels' digest is taken from the encoded file as any reader decodes it (a lossy format's pixels
    are those after encoding), and the metadata goes in beside the pixel data, which is not re-encoded.
    """
    record = provenance.build_record(
        operation=job,
        options=options_without_paths(options),
        model=operation_metadata.get("model"),
        weights=weights_named(operation_metadata),
        fallback=bool(operation_metadata.get("fallback")),
        device=operation_metadata.get("device"),
        package_version=aiorch.__version__,
        commit=build_info.COMMIT,
        execution_id=execution_id_from_prefix(output_prefix),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    try:
        key = provenance_key(settings, create=True)
    except OSError as exc:  # an unreadable key costs the signature, not the result
        log.warning("provenance key unreadable: %s", exc)
        key = None
    if key is None:
        notes.append("the provenance in the result is unsigned: this deployment has no provenance key")
    return provenance.embed(data, provenance.seal(record, provenance.file_pixel_digest(data), key))
