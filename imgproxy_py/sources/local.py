"""The ``local:///`` backend: files under ``IMGPROXY_LOCAL_FILESYSTEM_ROOT``, never outside it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from stat import S_ISREG

from imgproxy_py.errors import SourceNotAllowedError, SourceNotFoundError
from imgproxy_py.sources.base import Conditional, SizeLimit, SourceImage, not_modified

PATH_MAX = 4096  # Linux's: the kernel opens no longer name (ENAMETOOLONG)


class LocalBackend:
    schemes: tuple[str, ...] = ("local",)

    def __init__(self, root: str, separator: str = "?") -> None:
        self.root = root
        self.separator = separator  # IMGPROXY_SOURCE_URL_QUERY_SEPARATOR: where a file's name ends

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        return await asyncio.to_thread(self._read, url, limit, conditional)  # file I/O off the loop

    async def close(self) -> None:
        return None

    def _read(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        path, stat, etag, last_modified = self.locate(url)
        if conditional.unchanged(etag, last_modified):
            return not_modified(url, etag, last_modified)
        limit.check_declared(stat.st_size)
        with _file_errors(url):
            data = path.read_bytes()
        return SourceImage(data=data, url=url, etag=etag, last_modified=last_modified)

    def locate(self, url: str) -> tuple[Path, os.stat_result, str, str]:
        """The file of ``url``, its ``stat``, its ETag and its ``Last-Modified``: validators as web
        servers (and imgproxy's file storage) make them for files, so that a revalidation costs
        a stat, not a read and a hash of the whole file."""
        if not self.root:
            raise SourceNotAllowedError("local sources are disabled (IMGPROXY_LOCAL_FILESYSTEM_ROOT is not set)")
        path = local_path(self.root, url, self.separator)
        with _file_errors(url):
            stat = path.stat()
            if not S_ISREG(stat.st_mode):
                raise IsADirectoryError(url)
        return path, stat, f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"', formatdate(stat.st_mtime, usegmt=True)


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


def local_path(root: str, url: str, separator: str = "?") -> Path:
    """The file for a ``local:`` URL as imgproxy's file storage finds it, never outside ``root``
    (symlinks resolved).

    The URL is read as written: it was unescaped once with the request's path (a ``#`` or a
    ``%20`` in it is part of the name), a host (``local://localhost/a.jpg``) is ignored as
    imgproxy ignores the bucket of a file, and the name ends at ``separator``
    (``IMGPROXY_SOURCE_URL_QUERY_SEPARATOR``).  ``..`` segments are resolved as imgproxy's
    ``http.Dir`` resolves them, from the root down: ``local:///photos/../cat.jpg`` is
    ``<root>/cat.jpg``, and ``..`` above the root stays at it."""
    rest = url.split(":", 1)[1] if ":" in url else url
    if rest.startswith("//"):
        _, _, rest = rest[2:].partition("/")
    name = rest.partition(separator)[0] if separator else rest
    if "\x00" in name:
        raise SourceNotAllowedError(f"NUL in a local path: {url}")
    relative = posixpath.normpath("/" + name).lstrip("/")  # repeated slashes collapse too
    base = Path(root).resolve()
    if len(os.fsencode(base / relative)) >= PATH_MAX:
        # No such file can be opened (ENAMETOOLONG); resolve() would stat every prefix of a
        # name of a million bytes first, for seconds.
        raise SourceNotFoundError(f"local file name too long: {url[:100]}")
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base):
        raise SourceNotAllowedError(f"path escapes the local root: {url}")
    return candidate
