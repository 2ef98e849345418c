from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from aiorch.fields import key_problem, shown


class NotFound(KeyError):
    """The key does not exist."""


class Storage(ABC):
    """Bytes under string keys. Keys use '/' separators and never start with '/'."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def read_head(self, key: str, size: int) -> bytes:
        """The first ``size`` bytes (for sniffing a file's type without reading it all)."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    @abstractmethod
    def put_if_absent(self, key: str, data: bytes, content_type: str | None = None) -> bool:
        """Write only if nothing is there yet; True when this call created it."""

    @abstractmethod
    def size(self, key: str) -> int | None:
        """Size in bytes, or None when the key does not exist."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[str]: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def uri(self, key: str) -> str:
        """A URI a job process can open with ``aiorch.storage.open_uri``."""

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def put_json(self, key: str, value: Any) -> None:
        self.put_bytes(key, json.dumps(value, default=str, indent=1).encode(), "application/json")


def check_key(key: str) -> str:
    parts = key.split("/")
    problem = key_problem(key)  # the core's rule for keys: bounded length, no control character
    if problem or key.startswith("/") or any(p in {".", ".."} for p in parts) or "\\" in key:
        raise ValueError(f"invalid storage key {shown(key)}: {problem or 'not a plain relative key'}")
    return key
