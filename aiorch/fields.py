"""One rule per kind of field a request carries, applied before the value is used anywhere.

Well-formed JSON can still be hostile: an integer of 400 digits (``math.isfinite`` raises
OverflowError on it), a key of 1,000 characters (a file name too long for the disk: ENAMETOOLONG),
a NUL byte (Python's file calls raise ValueError). Each of those answered 500. So:

- a **number** is a JSON number (not a boolean) whose magnitude is at most ``MAX_MAGNITUDE``
  (2**53, the integers a browser's JavaScript holds exactly), and finite;
- a **key** is at most ``MAX_KEY_BYTES`` of UTF-8 (S3's own limit), each ``/``-separated part at most
  ``MAX_KEY_PART_BYTES`` (a file name on the local disk), with no control character;
- **text** (a string option, a name) is at most ``MAX_TEXT_CHARS`` characters with no control character.

Refusals quote the value shortened (``shown``), so a huge value never makes a huge message.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_MAGNITUDE = 2**53
MAX_KEY_BYTES = 1024
MAX_KEY_PART_BYTES = 255
MAX_TEXT_CHARS = 1024
SHOWN_CHARS = 60

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def bounded_number(value: Any) -> int | float | None:
    """``value`` when it is a number by the rule above; None when it is not (the caller refuses it)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):  # compared as integers: a huge one is never turned into a float
        return value if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE else None
    return value if math.isfinite(value) and abs(value) <= MAX_MAGNITUDE else None


def text_problem(value: str, what: str = "text", max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """Why ``value`` is no acceptable text, in plain words; None when it is."""
    if len(value) > max_chars:
        return f"{what} is longer than {max_chars} characters"
    if _CONTROL.search(value):
        return f"{what} holds a control character (such as a NUL byte or a line break)"
    return None


def key_problem(key: str, what: str = "key") -> str | None:
    """Why ``key`` can be no storage key, in plain words; None when it can."""
    if not isinstance(key, str) or not key:
        return f"{what} is empty"
    if _CONTROL.search(key):
        return f"{what} holds a control character (such as a NUL byte)"
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        return f"{what} is not valid Unicode text"
    if len(encoded) > MAX_KEY_BYTES:
        return f"{what} is longer than {MAX_KEY_BYTES} bytes"
    if any(len(part.encode("utf-8")) > MAX_KEY_PART_BYTES for part in key.split("/")):
        return f"{what} has a part longer than {MAX_KEY_PART_BYTES} bytes"
    return None


def shown(value: Any) -> str:
    """``repr(value)`` cut to ``SHOWN_CHARS`` characters, for refusals."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**SHOWN_CHARS:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"  # str() may refuse it
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 1]}… ({len(text)} characters)"
