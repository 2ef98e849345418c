"""The storage key layout (DESIGN.md, "Contracts"). One place builds every key."""

from __future__ import annotations

import re
from datetime import datetime

from aiorch.fields import key_problem, shown

# An upload's image is ``uploads/{user}/{upload}/original.{ext}``; the upload keeps files of its own
# beside it (name.json: the original file name), which are no images.
UPLOAD_IMAGE_STEM = "original"
_SAFE = re.compile(r"^[A-Za-z0-9._@+=-]{1,128}$")


class KeyError_(ValueError):
    """A key or a key part that the layout does not allow."""


def safe_part(part: str, what: str = "key part") -> str:
    if not _SAFE.match(part) or part in {".", ".."}:
        raise KeyError_(f"{what} {part!r} may hold only letters, digits and . _ @ + = -")
    return part


def upload_key(user: str, upload: str, ext: str) -> str:
    return f"uploads/{safe_part(user, 'user')}/{safe_part(upload, 'upload id')}/{UPLOAD_IMAGE_STEM}.{safe_part(ext)}"


def upload_image_problem(key: str) -> str | None:
    """Why ``key`` cannot be an upload's image (None when it has that form), from its form alone: at
    submit, before ValidateInput reads it, so a user who gives the wrong key learns it at once."""
    parts = key.split("/")
    if len(parts) == 4 and parts[0] == "uploads":
        if parts[3].startswith(UPLOAD_IMAGE_STEM + ".") and len(parts[3]) > len(UPLOAD_IMAGE_STEM) + 1:
            return None
        return (
            f"{shown(parts[3])} is a file the upload keeps beside its image, not the image; "
            f"an upload's image key ends in /{UPLOAD_IMAGE_STEM}.<extension>, as the upload answered it"
        )
    return (
        f"an upload's image key is uploads/<user>/<upload>/{UPLOAD_IMAGE_STEM}.<extension>, as the upload answered it"
    )


def result_prefix(user: str, execution_id: str, job: str) -> str:
    return f"results/{safe_part(user, 'user')}/{safe_part(execution_id, 'execution id')}/{safe_part(job)}/"


def batch_image_prefix(user: str, execution_id: str, job: str, index: int) -> str:
    """Where one image of a batch gets its job's files (its own result, metadata, progress, error)."""
    return f"{result_prefix(user, execution_id, job)}{index:03d}/"


def execution_results_prefix(user: str, execution_id: str) -> str:
    return f"results/{safe_part(user, 'user')}/{safe_part(execution_id, 'execution id')}/"


def analytics_key(when: datetime, name: str) -> str:
    return f"analytics/results/year={when:%Y}/month={when:%m}/day={when:%d}/{safe_part(name, 'file name')}.parquet"


def is_under_user(key: str, user: str) -> bool:
    """True when ``key`` is a plain key under one of the user's own prefixes."""
    parts = key.split("/")
    if key_problem(key) or any(p in {"", ".", ".."} for p in parts) or "\\" in key:
        return False
    return len(parts) >= 3 and parts[0] in {"uploads", "results"} and parts[1] == user
