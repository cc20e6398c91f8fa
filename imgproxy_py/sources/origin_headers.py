"""Headers between the client, imgproxy and the origin (imgproxy's header and cookie settings).

- ``IMGPROXY_CUSTOM_REQUEST_HEADERS``: fixed headers sent to every http(s) origin, divided by
  ``IMGPROXY_CUSTOM_HEADERS_SEPARATOR`` (default ``\\;``).
- ``IMGPROXY_REQUEST_HEADERS_PASSTHROUGH``: the client's headers of these names go to the origin.
- ``IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH``: the origin's headers of these names come back.
- ``IMGPROXY_COOKIE_PASSTHROUGH`` (+ ``_COOKIE_BASE_URL``, ``_COOKIE_PASSTHROUGH_ALL``): the
  client's cookies go to the origin when they would apply to the image URL, as imgproxy decides
  it with a cookie jar: the cookies are taken as set by the base URL (the setting, else the
  request's ``X-Forwarded-Proto``/``-Host``/``-Port`` or ``Host``), host-only with that URL's
  default path, and sent to an http(s) image URL of the same host name under that path.  They
  are the cookies Go reads from the request (invalid ones left out) and written again as Go's
  client writes them; a jar keeps one cookie of a name (the last value, in the first one's
  place), ``_COOKIE_PASSTHROUGH_ALL``'s list keeps every one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from imgproxy_py.envreader import EnvReader
from imgproxy_py.sources.base import HTTP_TOKEN
from imgproxy_py.sources.cookies import RequestCookie, cookie_header, read_cookies

# Headers about a message's body or its connection (RFC 9110 §8, §7.6.1): never copied from the
# origin's response to ours, even when IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH names them.
BODY_AND_CONNECTION_HEADERS = frozenset({
    "content-length", "content-encoding", "content-type", "content-range", "transfer-encoding", "connection",
    "keep-alive", "te", "trailer", "upgrade"})


def custom_headers(r: EnvReader, setting: str) -> tuple[tuple[str, str], ...]:
    """imgproxy Pro's ``Name=value`` list, items divided by ``IMGPROXY_CUSTOM_HEADERS_SEPARATOR``
    (default ``\\;``); a name that is not an HTTP token or a value with a control character is
    a start-up problem (it would make every response or request invalid)."""
    separator = r.string("IMGPROXY_CUSTOM_HEADERS_SEPARATOR", "\\;") or "\\;"
    custom: list[tuple[str, str]] = []
    for item in r.string(setting).split(separator):
        if not item.strip():
            continue
        name, eq, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not HTTP_TOKEN.fullmatch(name) or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            r.errors.append(f"{setting}: {item!r} is not Name=value")
            continue
        custom.append((name, value))
    return tuple(custom)


@dataclass(frozen=True)
class OriginHeadersConfig:
    custom_request_headers: tuple[tuple[str, str], ...] = ()
    request_passthrough: tuple[str, ...] = ()
    response_passthrough: tuple[str, ...] = ()
    cookie_passthrough: bool = False
    cookie_base_url: str = ""
    cookie_passthrough_all: bool = False

    @staticmethod
    def from_env(r: EnvReader) -> OriginHeadersConfig:
        custom = custom_headers(r, "IMGPROXY_CUSTOM_REQUEST_HEADERS")
        base = r.string("IMGPROXY_COOKIE_BASE_URL")
        if base and urlsplit(base).scheme not in ("http", "https"):
            r.errors.append(f"IMGPROXY_COOKIE_BASE_URL: {base!r} is not an http(s) URL")
            base = ""
        return OriginHeadersConfig(
            custom_request_headers=custom,
            request_passthrough=r.string_list("IMGPROXY_REQUEST_HEADERS_PASSTHROUGH"),
            response_passthrough=r.string_list("IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH"),
            cookie_passthrough=r.boolean("IMGPROXY_COOKIE_PASSTHROUGH", False),
            cookie_base_url=base,
            cookie_passthrough_all=r.boolean("IMGPROXY_COOKIE_PASSTHROUGH_ALL", False),
        )

    def forwarded(self, request: Mapping[str, str], source_url: str) -> dict[str, str]:
        """The client's headers (``request``, case-insensitive) that go to the origin of ``source_url``
        (an http(s) one: stores get none)."""
        if not source_url.lower().startswith(("http://", "https://")):
            return {}
        headers = {}
        for name in self.request_passthrough:
            # A header the client sent twice goes on with both values, as imgproxy forwards it.
            if values := _values(request, name):
                headers[name] = ", ".join(values)
        if self.cookie_passthrough and self._cookies_apply(request, source_url):
            cookies = read_cookies(_values(request, "cookie"))
            if cookie := cookie_header(cookies if self.cookie_passthrough_all else _one_per_name(cookies)):
                headers["Cookie"] = cookie
        return headers

    def passed_back(self, origin: Mapping[str, str]) -> dict[str, str]:
        """The origin's response headers that go back to the client, but never those that describe
        the origin's body or connection: our body is another one (processed, or decompressed),
        so its length, encoding and type are ours, as imgproxy's are."""
        lowered = {name.lower(): value for name, value in origin.items()}
        return {name: lowered[name.lower()] for name in self.response_passthrough
                if name.lower() in lowered and name.lower() not in BODY_AND_CONNECTION_HEADERS}

    def _cookies_apply(self, request: Mapping[str, str], source_url: str) -> bool:
        if self.cookie_passthrough_all:
            return True
        base = self.cookie_base_url or _base_from_request(request)
        if not base:
            return False
        target, scope = urlsplit(source_url), urlsplit(base)
        if target.scheme not in ("http", "https") or scope.scheme not in ("http", "https") or not target.hostname:
            return False  # a cookie jar takes and gives cookies for http(s) URLs only
        if target.hostname != scope.hostname:  # host-only cookies; ports don't matter to cookies
            return False
        return _path_matches(target.path or "/", _default_path(scope.path))


def _values(request: Mapping[str, str], name: str) -> list[str]:
    """Every value of the header ``name`` (the server's request headers list them all; a plain
    mapping holds one)."""
    getlist = getattr(request, "getlist", None)
    return list(getlist(name)) if callable(getlist) else [v for v in [request.get(name)] if v]


def _one_per_name(cookies: list[RequestCookie]) -> list[RequestCookie]:
    """What Go's cookie jar keeps of ``cookies`` set together: a later cookie of a name replaces
    the earlier one's value and keeps its place."""
    kept: dict[str, RequestCookie] = {}
    for cookie in cookies:
        kept[cookie.name] = cookie  # a dict keeps a key's first place
    return list(kept.values())


def _base_from_request(request: Mapping[str, str]) -> str:
    scheme = request.get("x-forwarded-proto") or "http"
    host = request.get("x-forwarded-host") or request.get("host") or ""
    if not host:
        return ""
    port = request.get("x-forwarded-port")
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def _default_path(path: str) -> str:
    """RFC 6265's default-path: the base URL's directory."""
    if not path.startswith("/"):
        return "/"
    last = path.rfind("/")
    return "/" if last == 0 else path[:last]


def _path_matches(path: str, cookie_path: str) -> bool:
    if path == cookie_path:
        return True
    if not path.startswith(cookie_path):
        return False
    return cookie_path.endswith("/") or path[len(cookie_path)] == "/"
