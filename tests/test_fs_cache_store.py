"""The ``fs`` internal-cache store's reads: an entry the kernel holds in memory is read on the
event loop, one it would read from the disk in a thread, and a network filesystem always in a
thread (``cluster/stores.py``)."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import time
from pathlib import Path

import pytest

from imgproxy_py.cluster.stores import LOCAL_FILESYSTEMS, FsCacheStore, filesystem_type

MOUNTINFO = """\
22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 22 0:25 / /mnt/shared rw,relatime shared:9 - nfs4 server:/export rw,vers=4.2
31 30 253:2 / /mnt/shared/local\\040disk rw,relatime - xfs /dev/vdb rw
32 22 0:26 / /dev/shm rw,nosuid - tmpfs tmpfs rw
"""
BLOB = os.urandom(200_000)


def test_the_filesystem_of_a_folder_is_its_deepest_mount(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(MOUNTINFO)
    assert filesystem_type(Path("/mnt/shared/cache"), str(mountinfo)) == "nfs4"
    assert filesystem_type(Path("/mnt/shared/local disk/cache"), str(mountinfo)) == "xfs"  # \040 is a space
    assert filesystem_type(Path("/mnt/sharedness"), str(mountinfo)) == "ext4"  # a prefix, not a parent
    assert filesystem_type(Path("/var/cache/imgproxy"), str(mountinfo)) == "ext4"
    assert filesystem_type(Path("/var"), str(tmp_path / "missing")) == ""
    assert "nfs4" not in LOCAL_FILESYSTEMS and {"ext4", "xfs", "overlay"} <= LOCAL_FILESYSTEMS


def stored(root: Path) -> tuple[FsCacheStore, Path]:
    store = FsCacheStore(str(root))
    asyncio.run(store.put("entry", BLOB))
    return store, store.path("entry")


def test_an_entry_in_memory_is_read_without_a_thread(tmp_path: Path) -> None:
    store, path = stored(tmp_path)
    if not store.reads_without_waiting:
        pytest.skip(f"{filesystem_type(tmp_path)!r} is not a local filesystem this kernel reads without waiting")
    assert store.read_from_memory(path) == (True, BLOB)  # just written: in the page cache
    assert store.read_from_memory(store.path("other")) == (True, None)  # a miss is answered too
    assert asyncio.run(store.get("entry")) == BLOB


def test_an_entry_on_the_disk_only_is_read_in_a_thread(tmp_path: Path) -> None:
    store, path = stored(tmp_path)
    if not store.reads_without_waiting:
        pytest.skip(f"{filesystem_type(tmp_path)!r} is not a local filesystem this kernel reads without waiting")
    for _ in range(40):  # the kernel drops clean pages only, and not those still being written back
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        # Asked once per eviction: the refused read starts the kernel's read-ahead, and a second
        # look may find the entry back in memory.
        answer = store.read_from_memory(path)
        if answer == (False, None):
            break
        time.sleep(0.05)
    assert answer == (False, None)
    assert asyncio.run(store.get("entry")) == BLOB
    assert store.reads_without_waiting


def test_a_filesystem_that_cannot_read_without_waiting_is_read_in_threads() -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or filesystem_type(shm) != "tmpfs":
        pytest.skip("no tmpfs at /dev/shm")
    root = Path(os.path.realpath(shm)) / f"imgproxy-py-test-{os.getpid()}"
    try:
        store, path = stored(root)
        probe = os.open(path, os.O_RDONLY)
        try:
            os.preadv(probe, [bytearray(1)], 0, os.RWF_NOWAIT)
            pytest.skip("this kernel's tmpfs reads without waiting")
        except OSError as exc:
            assert exc.errno == errno.EOPNOTSUPP
        finally:
            os.close(probe)
        assert store.reads_without_waiting  # tmpfs is local: tried first
        assert asyncio.run(store.get("entry")) == BLOB
        assert not store.reads_without_waiting  # then never again
        assert asyncio.run(store.get("entry")) == BLOB
    finally:
        shutil.rmtree(root, ignore_errors=True)
