from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from aiorch.storage.base import NotFound, Storage, check_key


class LocalStorage(Storage):
    """A directory with the same key layout as the S3 bucket.

    Writes go to a temporary file and are renamed into place, so a reader never
    sees half a file and a crash never leaves one behind.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(key) from exc

    def read_head(self, key: str, size: int) -> bytes:
        try:
            with self._path(key).open("rb") as f:
                return f.read(size)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(key) from exc

    def _write_temp(self, path: Path, data: bytes) -> str:
        """A complete temporary copy of ``data`` beside ``path``; on any failure (ENOSPC above all)
        the partial file is removed, so a full disk is not filled further by leftovers."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        path = self._path(key)
        tmp = self._write_temp(path, data)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def put_if_absent(self, key: str, data: bytes, content_type: str | None = None) -> bool:
        path = self._path(key)
        tmp = self._write_temp(path, data)
        try:
            os.link(tmp, path)  # atomic create-if-absent, and the file is complete when it appears
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    def size(self, key: str) -> int | None:
        path = self._path(key)
        try:
            return path.stat().st_size if path.is_file() else None
        except OSError as exc:  # a path the disk cannot hold (too long a name, too deep) holds no file
            if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
                return None
            raise

    def list(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix
        start = base if base.is_dir() else base.parent
        if not start.is_dir():
            return
        for dirpath, _dirs, files in os.walk(start):
            for name in sorted(files):
                if name.startswith(".tmp-"):
                    continue
                rel = Path(dirpath, name).relative_to(self.root).as_posix()
                if rel.startswith(prefix):
                    yield rel

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri() + ("/" if key.endswith("/") else "")

    def path(self, key: str) -> Path:
        """The file behind a key (local backend only; used to hand files to users)."""
        return self._path(key)
