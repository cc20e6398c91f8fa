"""A cached response: status, headers and body, with the time it stops being fresh.

Stored as one blob: a 4-byte big-endian length, a JSON header, then the body, so one read or
one object-store GET gives all of it.
"""

from __future__ import annotations

import json
import math
import re
import struct
import time
from dataclasses import dataclass, field, replace
from email.utils import formatdate

from imgproxy_py.sources.base import HTTP_TOKEN

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*(\d+)", re.IGNORECASE)
# Headers that describe the one response rather than the image: never stored.
_PER_RESPONSE = {"date", "content-length", "server", "x-request-id"}
_BREAKS_A_HEADER = re.compile(r"[\r\n\0]")


@dataclass(frozen=True)
class CacheEntry:
    status: int
    media_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    stored_at: float = 0.0
    expires_at: float = 0.0
    # The source's validators when it was fetched: a stale entry is revalidated with them, and
    # an origin's 304 makes it fresh again without a download or processing.
    source_etag: str = ""
    source_last_modified: str = ""
    # The fallback image stood in for a source that failed: served (with the fallback TTL's
    # Cache-Control) but never kept, even with IMGPROXY_FALLBACK_IMAGE_HTTP_CODE=200, or an
    # origin outage would be served from the cache for the whole TTL.  Never written: only
    # storable entries are.
    fallback: bool = False

    @property
    def revalidatable(self) -> bool:
        return bool(self.source_etag or self.source_last_modified)

    @property
    def storable(self) -> bool:
        """Only full successful renderings are kept: a fallback image (the source failed) or
        a 304 says nothing lasting about this URL."""
        return not self.fallback and self.status == 200 and self.expires_at > self.stored_at

    def fresh(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) < self.expires_at

    def ttl(self, now: float | None = None) -> float:
        return self.expires_at - (time.time() if now is None else now)

    def served_headers(self, now: float | None = None, expires: int | None = None) -> dict[str, str]:
        """The stored headers with ``Cache-Control``/``Expires`` counting down from now, so a
        CDN never keeps a copy longer than the cache entry lives, nor past the request's own
        ``expires`` (a Unix time) when it has one."""
        now = time.time() if now is None else now
        headers = dict(self.headers)
        end = self.expires_at if expires is None else min(self.expires_at, expires)
        remaining = max(0, int(end - now))
        if "Cache-Control" in headers and _MAX_AGE.search(headers["Cache-Control"]):
            headers["Cache-Control"] = _MAX_AGE.sub(lambda m: m.group(0).replace(m.group(1), str(remaining)),
                                                    headers["Cache-Control"], count=1)
            headers["Expires"] = formatdate(now + remaining, usegmt=True)
        return headers

    def to_bytes(self) -> bytes:
        head = json.dumps({"status": self.status, "media_type": self.media_type, "headers": self.headers,
                           "stored_at": self.stored_at, "expires_at": self.expires_at,
                           "source_etag": self.source_etag,
                           "source_last_modified": self.source_last_modified,
                           "body_size": len(self.body)}).encode()
        return struct.pack(">I", len(head)) + head + self.body

    @staticmethod
    def from_bytes(blob: bytes) -> CacheEntry:
        """Raises ``ValueError`` on a truncated, damaged or foreign blob: only what ``to_bytes``
        of an entry we store could have written is read back, so it can always be sent."""
        if len(blob) < 4:
            raise ValueError("cache entry too short")
        (size,) = struct.unpack(">I", blob[:4])
        if len(blob) < 4 + size:
            raise ValueError("cache entry truncated")
        try:
            head = json.loads(blob[4:4 + size])
            # A body cut or grown by something outside us (a disk, a copy) is never served as an
            # image: entries written before the size was kept have none to check.
            if int(head.get("body_size", len(blob) - 4 - size)) != len(blob) - 4 - size:
                raise ValueError(f"cache entry body is {len(blob) - 4 - size} bytes, not {head['body_size']}")
            entry = CacheEntry(status=int(head["status"]), media_type=_header_value(head["media_type"]),
                               body=blob[4 + size:],
                               headers={_header_name(k): _header_value(v) for k, v in head["headers"].items()},
                               stored_at=_finite(head["stored_at"]), expires_at=_finite(head["expires_at"]),
                               source_etag=_header_value(head.get("source_etag", "")),
                               source_last_modified=_header_value(head.get("source_last_modified", "")))
        except (KeyError, TypeError, AttributeError, OverflowError, json.JSONDecodeError) as exc:
            raise ValueError(f"cache entry header unreadable: {exc}") from exc  # ValueError passes as it is
        if entry.status != 200:  # only full renderings are stored (``storable``)
            raise ValueError(f"cache entry with status {entry.status}, which is never stored")
        return entry

    def refreshed(self, cache_headers: dict[str, str], now: float | None = None) -> CacheEntry:
        """Fresh again (the source is unchanged) for the max-age of ``cache_headers``: the
        ``Cache-Control`` and ``Expires`` a rendering now would send, and the origin's
        passed-through headers its 304 gave.  These replace the old ones whatever their case, and
        the old pair goes first, so an ``Expires`` the new headers lack is not left over."""
        now = time.time() if now is None else now
        replaced = {"cache-control", "expires", *(name.lower() for name in cache_headers)}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in replaced}
        headers.update(cache_headers)
        control = next((v for k, v in cache_headers.items() if k.lower() == "cache-control"), "")
        return replace(self, headers=headers, stored_at=now, expires_at=now + _max_age(control))


def _finite(value: object) -> float:
    number = float(value)  # type: ignore[arg-type]  # a TypeError is the blob's problem
    if not math.isfinite(number):
        raise ValueError(f"cache entry time {value!r} is not a number")
    return number


def _header_name(name: object) -> str:
    if not isinstance(name, str) or not HTTP_TOKEN.fullmatch(name):
        raise ValueError(f"cache entry header name {name!r} is not a token")
    return name


def _header_value(value: object) -> str:
    """A stored header's value, as the response will send it: a line break or a character that
    latin-1 lacks would fail the response after the cache said it had one."""
    if not isinstance(value, str) or _BREAKS_A_HEADER.search(value):
        raise ValueError(f"cache entry header value {value!r} cannot be sent")
    value.encode("latin-1")  # UnicodeEncodeError is a ValueError
    return value


def _max_age(control: str) -> int:
    lowered = control.lower()
    match = _MAX_AGE.search(control)
    if match and not any(word in lowered for word in ("no-store", "private", "no-cache")):
        return int(match.group(1))
    return 0


def entry_from_response(status: int, media_type: str, body: bytes, headers: dict[str, str],
                        now: float | None = None, source_etag: str = "",
                        source_last_modified: str = "", fallback: bool = False) -> CacheEntry:
    """The entry of a response we made: it stays fresh as long as its ``Cache-Control`` lets a
    shared cache keep it (``s-maxage``/``max-age``: ``IMGPROXY_TTL``, ``exp``, a passed-through
    origin header); ``no-store``/``private``/``no-cache`` are not kept, nor a ``fallback``
    image's."""
    now = time.time() if now is None else now
    kept = {k: v for k, v in headers.items() if k.lower() not in _PER_RESPONSE}
    return CacheEntry(status=status, media_type=media_type, body=body, headers=kept, stored_at=now,
                      expires_at=now + _max_age(headers.get("Cache-Control", "")), source_etag=source_etag,
                      source_last_modified=source_last_modified, fallback=fallback)
