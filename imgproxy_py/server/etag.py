"""Strong ETags that let a revalidation skip all work, and ``IMGPROXY_LAST_MODIFIED_BUSTER``.

A tag is ``"<options>.<source>"``: ``options`` is a hash of the canonical processing
options (plus ``IMGPROXY_ETAG_BUSTER``); ``source`` is ``R`` + the origin's ETag
(base64url) when the origin gave one, else ``D`` + a hash of the source bytes.  On
``If-None-Match`` the server can then ask the origin with the origin's own ETag and
answer 304 without downloading or processing anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from imgproxy_py.sources.base import http_date


def options_tag(canonical_options: str, buster: str) -> str:
    digest = hashlib.sha256(f"{buster}\x00{canonical_options}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def make_etag(options: str, source_identity: str) -> str:
    kind, value = source_identity[0], source_identity[1:]
    if kind == "R":
        value = base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
    return f'"{options}.{kind}{value}"'


@dataclass(frozen=True)
class ClientTag:
    options: str
    kind: str  # "R": origin ETag, "D": data hash
    value: str  # the origin's ETag (decoded) or the data hash

    @property
    def source_identity(self) -> str:
        return self.kind + self.value


def parse_if_none_match(header: str | None) -> list[ClientTag]:
    tags: list[ClientTag] = []
    for raw in (header or "").split(","):
        raw = raw.strip().removeprefix("W/").strip('"')
        options, dot, rest = raw.partition(".")
        if not dot or not rest or rest[0] not in "RD":
            continue
        kind, value = rest[0], rest[1:]
        if kind == "R":
            try:
                value = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                continue
        tags.append(ClientTag(options, kind, value))
    return tags


def busted_last_modified(last_modified: str, buster: float | None) -> str | None:
    """The ``Last-Modified`` to answer: the origin's, or the buster's time when that is later
    (imgproxy's rule); None for a value that is not an HTTP date, which is not passed on."""
    when = http_date(last_modified)
    if when is None:
        return None
    if buster is not None and when.timestamp() < buster:
        return format_datetime(datetime.fromtimestamp(buster, UTC), usegmt=True)
    return last_modified


def if_modified_since_for_origin(if_modified_since: str | None, buster: float | None) -> str | None:
    """The client's ``If-Modified-Since``, dropped when a buster is set and the date is not after
    it (the client's copy predates the buster, so it is stale) or is not a date."""
    if not if_modified_since or buster is None:
        return if_modified_since
    when = http_date(if_modified_since)
    return if_modified_since if when is not None and buster < when.timestamp() else None
