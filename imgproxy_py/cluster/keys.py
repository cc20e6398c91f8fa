"""The internal cache's key, as imgproxy Pro documents it: the source URL, the processing
options (with the cachebuster) and the output format, plus the request headers and cookies
named by ``IMGPROXY_CACHE_KEY_HEADERS`` / ``_COOKIES``. Never the signature: keys rotate, and
URLs signed by any key/salt pair share entries.

The canonical options already hold what format negotiation and client hints decided (the
options parser folds ``Accept``, ``DPR`` and ``Width`` into them), so two requests that would
get different formats or sizes get different keys.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from imgproxy_py.sources.base import HTTP_TOKEN

# Go's validCookieValueByte: printable ASCII but for the quote, ';' and the backslash.
_COOKIE_VALUE = re.compile(r'[\x20\x21\x23-\x3a\x3c-\x5b\x5d-\x7e]*')
_SPACE = " \t\r\n"  # textproto.TrimString's


def cache_key(source_url: str, canonical_options: str, headers: Mapping[str, str], cookies: Mapping[str, str],
              key_headers: tuple[str, ...], key_cookies: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for part in (source_url, canonical_options):
        digest.update(part.encode())
        digest.update(b"\x00")
    # Names are part of what is hashed, so a header's value never collides with a cookie's.
    for name in key_headers:
        digest.update(f"h:{name}={headers.get(name, '')}\x00".encode())
    for name in key_cookies:
        digest.update(f"c:{name}={cookies.get(name, '')}\x00".encode())
    return digest.hexdigest()


def key_cookies(cookie_headers: Iterable[str], names: Iterable[str]) -> dict[str, str]:
    """The cookies ``names`` (``IMGPROXY_CACHE_KEY_COOKIES``) as Go's ``Request.Cookie`` reads
    them: the first of each name, a value's enclosing quotes dropped, and a cookie whose name is
    no token or whose value holds a quote, a backslash or a control character left out.  Nothing
    is unescaped: Python's cookie unquoting is quadratic in backslashes (32 KB took 2 s)."""
    wanted = set(names)
    found: dict[str, str] = {}
    if not wanted:
        return found
    for header in cookie_headers:
        for part in header.split(";"):
            name, _, value = part.strip(_SPACE).partition("=")
            name = name.strip(_SPACE)
            if name not in wanted or name in found or not HTTP_TOKEN.fullmatch(name):
                continue
            if len(value) > 1 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if _COOKIE_VALUE.fullmatch(value):
                found[name] = value
    return found


def object_name(key: str, path_prefix: str) -> str:
    """Where an entry lives in a store: two levels of fan-out keep folders small on disk and
    spread object-store prefixes."""
    name = f"{key[:2]}/{key[2:4]}/{key}"
    return f"{path_prefix}/{name}" if path_prefix else name
