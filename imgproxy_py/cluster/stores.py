"""Where the internal cache keeps its entries: a protocol, and the local-filesystem adapter
(``IMGPROXY_CACHE_USE=fs``; a folder every node mounts, such as NFS or a shared volume).
The object-store adapters live in ``cluster.object_stores``."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Protocol

from imgproxy_py.cluster.keys import object_name


class CacheStore(Protocol):
    """Raises ``OSError`` (or the client's error) when the store fails; ``None`` is a miss."""

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, blob: bytes) -> None: ...

    async def close(self) -> None: ...


class FsCacheStore:
    """Entries as files under ``root/bucket/prefix/ab/cd/<key>``, written to a temporary file
    and renamed, so a reader on any node sees a whole entry or none."""

    def __init__(self, root: str, bucket: str = "", path_prefix: str = "") -> None:
        self.root = Path(root) / bucket if bucket else Path(root)
        self.path_prefix = path_prefix

    def path(self, key: str) -> Path:
        return self.root / object_name(key, self.path_prefix)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._read, self.path(key))

    async def put(self, key: str, blob: bytes) -> None:
        await asyncio.to_thread(self._write, self.path(key), blob)

    async def close(self) -> None:
        return None

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    @staticmethod
    def _write(path: Path, blob: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(blob)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
