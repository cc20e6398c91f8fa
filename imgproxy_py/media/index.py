"""Finding media files by ``<hash>``: a file name without extension, or the MD5 of the
content, under ``IMGPROXY_MEDIA_ROOT``.

The MD5 index is built at start-up and rebuilt when a lookup misses (at most once per
``refresh_interval``), so files added later are found without a restart.  Nothing outside
the root is ever returned: symlinks that leave it are skipped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from pathlib import Path

log = logging.getLogger("imgproxy_py.media")

HASH_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,127}")
_CHUNK = 1 << 20


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class MediaIndex:
    def __init__(self, root: str, refresh_interval: float = 10.0, max_files: int = 200_000) -> None:
        self.root = Path(root).resolve()
        self.refresh_interval = refresh_interval
        self.max_files = max_files
        self._by_name: dict[str, Path] = {}
        self._by_md5: dict[str, Path] = {}
        self._built_at = 0.0
        self._lock = threading.Lock()

    def build(self) -> None:
        by_name: dict[str, Path] = {}
        by_md5: dict[str, Path] = {}
        count = 0
        for dirpath, _dirs, files in os.walk(self.root, followlinks=False):
            for name in sorted(files):
                path = Path(dirpath, name)
                try:
                    resolved = path.resolve()
                    if not resolved.is_relative_to(self.root) or not resolved.is_file():
                        continue
                    by_name.setdefault(path.stem, resolved)
                    by_md5.setdefault(md5_of(resolved), resolved)
                except OSError:
                    continue
                count += 1
                if count >= self.max_files:
                    log.warning("media index stopped at %d files", count)
                    break
        with self._lock:
            self._by_name, self._by_md5 = by_name, by_md5
            self._built_at = time.monotonic()
        log.info("media index: %d files under %s", count, self.root)

    def find(self, key: str) -> Path | None:
        """The file for ``key``, or None. A miss rebuilds the index (rate limited)."""
        if not HASH_RE.fullmatch(key):
            return None
        found = self._lookup(key)
        if found is None and time.monotonic() - self._built_at >= self.refresh_interval:
            self.build()
            found = self._lookup(key)
        return found

    def _lookup(self, key: str) -> Path | None:
        with self._lock:
            path = self._by_name.get(key) or self._by_md5.get(key.lower())
        if path is None or not path.is_file():
            return None
        return path

    def relative(self, path: Path, local_root: str) -> str:
        return path.relative_to(Path(local_root).resolve()).as_posix()
