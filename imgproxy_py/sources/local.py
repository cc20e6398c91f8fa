"""The ``local:///`` backend: files under ``IMGPROXY_LOCAL_FILESYSTEM_ROOT``, never outside it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from stat import S_ISREG
from urllib.parse import SplitResult, unquote, urlsplit

from imgproxy_py.errors import SourceNotAllowedError, SourceNotFoundError
from imgproxy_py.sources.base import Conditional, SizeLimit, SourceImage, not_modified


class LocalBackend:
    schemes: tuple[str, ...] = ("local",)

    def __init__(self, root: str) -> None:
        self.root = root

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        return await asyncio.to_thread(self._read, url, limit, conditional)  # file I/O off the loop

    async def close(self) -> None:
        return None

    def _read(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        path, stat, etag = self.locate(url)
        if conditional.matches(etag):
            return not_modified(url, etag)
        limit.check_declared(stat.st_size)
        with _file_errors(url):
            data = path.read_bytes()
        return SourceImage(data=data, url=url, etag=etag)

    def locate(self, url: str) -> tuple[Path, os.stat_result, str]:
        """The file of ``url``, its ``stat`` and its ETag: a validator as web servers make one for
        files, so that a revalidation costs a stat, not a read and a hash of the whole file."""
        if not self.root:
            raise SourceNotAllowedError("local sources are disabled (IMGPROXY_LOCAL_FILESYSTEM_ROOT is not set)")
        path = local_path(self.root, url)
        with _file_errors(url):
            stat = path.stat()
            if not S_ISREG(stat.st_mode):
                raise IsADirectoryError(url)
        return path, stat, f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'


@contextlib.contextmanager
def _file_errors(url: str) -> Iterator[None]:
    """A file that isn't there, isn't readable or isn't a file: not found (404), as imgproxy's."""
    try:
        yield
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise SourceNotFoundError(f"local file not found: {url}") from None
    except PermissionError:
        raise SourceNotFoundError(f"local file not readable: {url}") from None
    except OSError as exc:  # a name too long, a symlink loop: no such file either
        raise SourceNotFoundError(f"local file can't be read: {url}: {exc.strerror}") from None


_SLASHES = re.compile(r"/+")


def split_url(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:  # an unclosed "[" or a bad IPv6 address in the host
        raise SourceNotAllowedError(f"invalid source URL: {url}") from None


def local_path(root: str, url: str) -> Path:
    """The file for a ``local:///`` URL, never outside ``root`` (symlinks resolved).

    ``..`` segments are resolved as imgproxy's ``http.Dir`` resolves them, from the root down:
    ``local:///photos/../cat.jpg`` is ``<root>/cat.jpg``, and ``..`` above the root stays at it
    (``local:///../etc/passwd`` is ``<root>/etc/passwd``, most likely not found)."""
    parts = split_url(url)
    path = unquote(_SLASHES.sub("/", parts.netloc + parts.path))
    if "\x00" in path:
        raise SourceNotAllowedError(f"NUL in a local path: {url}")
    relative = posixpath.normpath("/" + path).lstrip("/")
    base = Path(root).resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base):
        raise SourceNotAllowedError(f"path escapes the local root: {url}")
    return candidate
