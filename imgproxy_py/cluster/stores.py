"""Where the internal cache keeps its entries: a protocol, and the local-filesystem adapter
(``IMGPROXY_CACHE_USE=fs``; a folder every node mounts, such as NFS or a shared volume, or a
node's own disk).
The object-store adapters live in ``cluster.object_stores``."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from imgproxy_py.cluster.keys import object_name


class CacheStore(Protocol):
    """Raises ``OSError`` (or the client's error) when the store fails; ``None`` is a miss."""

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, blob: bytes) -> None: ...

    async def close(self) -> None: ...


# Filesystems on this host's own disks or memory: opening a file there waits for no network.
LOCAL_FILESYSTEMS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "bcachefs", "jfs",
                               "tmpfs", "overlay"})

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def filesystem_type(path: Path, mountinfo: str = "/proc/self/mountinfo") -> str:
    """The type of the filesystem ``path`` is (or will be, once made) on: ``ext4``, ``nfs4`` ...;
    blank where the system does not say (no ``/proc``)."""
    where = os.path.realpath(path)
    best, kind = "", ""
    try:
        lines = Path(mountinfo).read_text().splitlines()
    except OSError:
        return ""
    for line in lines:
        fields, _, after = line.partition(" - ")
        parts = fields.split(" ")
        if len(parts) < 5 or not after:
            continue
        mount_point = _OCTAL_ESCAPE.sub(lambda match: chr(int(match[1], 8)), parts[4])  # \040 (octal) is a space
        inside = where == mount_point or where.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, kind = mount_point, after.split(" ", 1)[0]
    return kind


class FsCacheStore:
    """Entries as files under ``root/bucket/prefix/ab/cd/<key>``, written to a temporary file
    and renamed, so a reader on any node sees a whole entry or none.

    A hit whose file the kernel holds in memory is read on the event loop (``preadv2`` with
    ``RWF_NOWAIT`` refuses to wait for the disk): handing a 50 KB read to a thread and back costs
    more than the read, and the hand-over and the GIL's back and forth made a hit cost about
    1.0 ms of CPU instead of 0.55 (``benchmarks/cache_hits.py``).  The rest is read in a thread,
    and so is everything on a network filesystem (NFS, SMB, FUSE ...), where even opening a file
    may wait for a server."""

    def __init__(self, root: str, bucket: str = "", path_prefix: str = "") -> None:
        self.root = Path(root) / bucket if bucket else Path(root)
        self.path_prefix = path_prefix
        self.reads_without_waiting = hasattr(os, "RWF_NOWAIT") and filesystem_type(self.root) in LOCAL_FILESYSTEMS

    def path(self, key: str) -> Path:
        return self.root / object_name(key, self.path_prefix)

    async def get(self, key: str) -> bytes | None:
        path = self.path(key)
        if self.reads_without_waiting:
            answered, entry = self.read_from_memory(path)
            if answered:
                return entry
        return await asyncio.to_thread(self._read, path)

    def read_from_memory(self, path: Path) -> tuple[bool, bytes | None]:
        """``(True, entry or None for a miss)``, or ``(False, None)`` when reading the entry
        would wait for the disk (or failed: the thread's read reports the error)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return True, None
        except OSError:
            return False, None
        try:
            buffer = bytearray(os.fstat(fd).st_size)
            try:
                read = os.preadv(fd, [buffer], 0, os.RWF_NOWAIT)
            except OSError as exc:
                if exc.errno == errno.EOPNOTSUPP:  # this filesystem can't say: always a thread
                    self.reads_without_waiting = False
                return False, None
            return (True, bytes(buffer)) if read == len(buffer) else (False, None)
        finally:
            os.close(fd)

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
