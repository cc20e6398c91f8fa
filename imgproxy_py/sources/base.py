"""What every source backend shares: the result type, the protocol, the size limit and the
conditional request.

A backend turns a source URL of its schemes into a :class:`SourceImage`.  The checks that must
not differ between backends live here, so a new backend (a cloud store, a plugin's) cannot
get them subtly wrong: the download-size limit, the conditional-request answer (a 304 with no
body), and the errors a missing object or an oversized one ends with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from imgproxy_py.errors import SourceFormatError, SourceTooBigError

# RFC 9110's token: a header's or a cookie's name.
HTTP_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class SourceImage:
    data: bytes
    url: str
    etag: str | None = None
    last_modified: str | None = None
    cache_control: str | None = None
    expires: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False  # the origin answered 304 to a conditional request


@dataclass(frozen=True)
class Conditional:
    """The validators a request carries (``If-None-Match`` / ``If-Modified-Since``)."""

    if_none_match: str | None = None
    if_modified_since: str | None = None

    @staticmethod
    def from_headers(headers: Mapping[str, str]) -> Conditional:
        return Conditional(headers.get("If-None-Match"), headers.get("If-Modified-Since"))

    def headers(self) -> dict[str, str]:
        out = {}
        if self.if_none_match:
            out["If-None-Match"] = self.if_none_match
        if self.if_modified_since:
            out["If-Modified-Since"] = self.if_modified_since
        return out

    def matches(self, etag: str | None) -> bool:
        return bool(self.if_none_match and etag and self.if_none_match == etag)

    def unchanged(self, etag: str, last_modified: str) -> bool:
        """Whether these validators still hold for a file of this ETag and date, as a web server
        (and imgproxy's file storage) answers them: ``If-None-Match`` first, else
        ``If-Modified-Since``."""
        if self.if_none_match:
            return any(tag.strip() in (etag, f"W/{etag}", "*") for tag in self.if_none_match.split(","))
        return self.if_modified_since is not None and not_modified_since(last_modified, self.if_modified_since)


def http_date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def not_modified_since(last_modified: str, if_modified_since: str) -> bool:
    """Whether the client's copy (``If-Modified-Since``) is as new as ``last_modified``."""
    modified, since = http_date(last_modified), http_date(if_modified_since)
    try:
        return modified is not None and since is not None and modified <= since
    except TypeError:  # one date with a zone, the other without
        return False


NO_CONDITION = Conditional()


def not_modified(url: str, etag: str | None, last_modified: str | None = None,
                 cache_control: str | None = None, headers: dict[str, str] | None = None,
                 expires: str | None = None) -> SourceImage:
    """The answer to a conditional request whose validators still hold: nothing downloaded.
    Its ``Cache-Control``/``Expires`` are the origin's word on how long the source now stays
    fresh (passed through when an entry is revalidated)."""
    return SourceImage(data=b"", url=url, etag=etag, last_modified=last_modified, cache_control=cache_control,
                       expires=expires, headers=headers or {}, not_modified=True)


# Whether a download's first bytes are of a kind of file the server reads: True or False, or
# None while more bytes could still tell (never once the body is ``complete``).
Recognise = Callable[[bytes, bool], "bool | None"]


class SizeLimit:
    """The download-size limit (``IMGPROXY_MAX_SRC_FILE_SIZE``; 0: none), checked on the declared
    size before a byte is read and on the running total while streaming.

    With ``recognise``, the first bytes are also checked as they come, as imgproxy finds the type
    while downloading: a body that is no image (an HTML page, an endless stream) is refused
    (``SourceFormatError``) after its first bytes, not read whole into memory."""

    def __init__(self, url: str, limit: int, recognise: Recognise | None = None) -> None:
        self.url = url
        self.limit = limit
        self.size = 0
        self._recognise = recognise
        self._head = b""

    def check_declared(self, size: int | None) -> None:
        if self.limit and size is not None and size > self.limit:
            raise SourceTooBigError(f"{self.url}: {size} bytes > {self.limit}")

    def add(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        if self.limit and self.size > self.limit:
            raise SourceTooBigError(f"{self.url}: body exceeds {self.limit} bytes")
        if self._recognise is not None and chunk:
            self._head += chunk
            self._settle(self._recognise(self._head, False))
        return chunk

    def unrecognised(self) -> SizeLimit:
        """The same limit for bytes that are not the source's yet (an encrypted object's): only
        ``finish`` recognises the source, on what they become."""
        return SizeLimit(self.url, self.limit)

    def finish(self, data: bytes) -> None:
        """The whole body is ``data``: checked if its first bytes were not (a short body, or a
        backend that reads whole)."""
        if self._recognise is not None:
            self._settle(self._recognise(data, True))

    def _settle(self, verdict: bool | None) -> None:
        if verdict is None:
            return
        self._recognise, self._head = None, b""
        if not verdict:
            raise SourceFormatError(f"{self.url}: the source is of no image type")


class SourceBackend(Protocol):
    """Fetches the source URLs of its ``schemes``.

    ``fetch`` raises the project's source errors (``SourceNotFoundError`` → 404,
    ``SourceTimeoutError`` → 504, ``SourceBadGatewayError`` → 502, ``SourceTooBigError`` → 422,
    ``SourceNotAllowedError`` → 404); it answers a conditional request whose validators hold with
    :func:`not_modified`.  The fetcher applies the allowed-sources list and the download timeout
    around it."""

    schemes: tuple[str, ...]

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage: ...

    async def close(self) -> None: ...


@runtime_checkable
class StreamingBackend(Protocol):
    """A backend that can also hand its answer over unread, for ``raw`` to stream.

    ``open`` sends a GET with ``headers`` (the client's ``Range`` and validators among them) and
    returns the origin's or store's response, whatever its status, its body not read: the caller
    streams and closes it.  It raises the source errors ``fetch`` raises for what happens before
    an answer (refused address, unreachable, timeout)."""

    @property
    def streams_raw(self) -> bool: ...

    async def open(self, url: str, headers: dict[str, str]) -> httpx.Response: ...
