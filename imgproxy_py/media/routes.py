"""Media routes declared as data: friendly URLs that are named presets over the engine.

``presets/routes.conf`` holds one route a line: ``PATTERN OPTIONS SOURCE``, e.g.

    /media/square_thumbnails/<hash>   pr:square_thumbnails   <hash>

A request matching the pattern is answered exactly as
``/unsafe/OPTIONS/plain/local:///FILE`` would be, where FILE is the media file that
``<hash>`` names (by file name without extension, or by the MD5 of its content) under
``IMGPROXY_MEDIA_ROOT``.  Placeholders: ``<hash>``, ``<n>`` (digits) and any other
``<name>`` (one path segment's text); OPTIONS may use them too.  Authentication is a bearer
token (``media.tokens``).  The HTTP side is ``server.media``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from imgproxy_py.errors import BadRequestError, InvalidURLError, SourceNotFoundError
from imgproxy_py.media.config import MediaConfig
from imgproxy_py.media.index import MediaIndex
from imgproxy_py.media.tokens import TokenAuthority, TokenError
from imgproxy_py.url.tokenizer import ParsedPath, SourceRef

log = logging.getLogger("imgproxy_py.media")

_PLACEHOLDER = re.compile(r"<([a-z_]+)>")
_PATTERNS = {"hash": r"[0-9A-Za-z][0-9A-Za-z._-]{0,127}?", "n": r"\d{1,4}"}


@dataclass(frozen=True)
class MediaRoute:
    pattern: str
    regex: re.Pattern[str]
    options: str
    source: str

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.fullmatch(path)
        return found.groupdict() if found else None

    def options_for(self, params: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: params[m.group(1)], self.options)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    last = 0
    for m in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[last:m.start()]))
        name = m.group(1)
        parts.append(f"(?P<{name}>{_PATTERNS.get(name, r'[^/]+?')})")
        last = m.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("".join(parts))


def parse_routes(text: str, where: str, problems: list[str]) -> list[MediaRoute]:
    routes = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        place = f"{where}:{number}"
        if len(fields) != 3:
            problems.append(f"{place}: expected PATTERN OPTIONS SOURCE, got {line!r}")
            continue
        pattern, options, source = fields
        names = set(_PLACEHOLDER.findall(pattern))
        if not pattern.startswith("/") or "hash" not in names:
            problems.append(f"{place}: the pattern must start with / and hold <hash>")
            continue
        if source != "<hash>":
            problems.append(f"{place}: the source must be <hash> (a file under IMGPROXY_MEDIA_ROOT)")
            continue
        unknown = set(_PLACEHOLDER.findall(options)) - names
        if unknown:
            problems.append(f"{place}: options use placeholders the pattern lacks: {sorted(unknown)}")
            continue
        try:
            regex = compile_pattern(pattern)
        except re.error as exc:
            problems.append(f"{place}: bad pattern: {exc}")
            continue
        routes.append(MediaRoute(pattern, regex, options, source))
    return routes


@dataclass
class MediaRoutes:
    routes: list[MediaRoute]
    index: MediaIndex
    local_root: Path
    tokens: TokenAuthority | None
    open_access: bool
    ttl: int

    def find(self, path: str) -> tuple[MediaRoute, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(path)
            if params is not None:
                return route, params
        return None

    def file(self, key: str) -> Path:
        found = self.index.find(key)
        if found is None:
            raise SourceNotFoundError(f"no media file for {key!r}")
        return found

    def parsed_path(self, route: MediaRoute, params: dict[str, str]) -> ParsedPath:
        return self.request_for(params["hash"], route.options_for(params))

    def request_for(self, key: str, options: str) -> ParsedPath:
        """The ``/unsafe/OPTIONS/plain/local:///FILE`` request for the media file ``key``."""
        relative = self.file(key).relative_to(self.local_root).as_posix()
        tokens: list[tuple[str, tuple[str, ...]]] = []
        for part in options.split("/"):
            if part == "-":
                tokens.append(("-", ()))
                continue
            name, sep, args = part.partition(":")
            if not sep:
                raise InvalidURLError(f"bad route options: {options}")
            tokens.append((name, tuple(args.split(":"))))
        return ParsedPath("unsafe", f"/{options}/plain/local:///{relative}", tuple(tokens),
                          SourceRef(f"local:///{relative}", ""))

    def authorize(self, authorization: str | None, key: str) -> None:
        """Raise TokenError unless the ``Authorization`` header lets its bearer read ``key``."""
        if self.tokens is None:
            if self.open_access:
                return
            raise TokenError("media routes need IMGPROXY_MEDIA_TOKEN_SECRET when URLs are signed")
        self.tokens.check(authorization, key)


def load_media_routes(config: MediaConfig, local_root: str, signing: bool,
                      problems: list[str]) -> MediaRoutes | None:
    """The routes from ``IMGPROXY_MEDIA_ROUTES_PATH`` (default: the shipped presets/routes.conf)."""
    path = config.routes_path
    media_root = config.root or local_root
    secret, max_age, ttl, refresh = config.token_secret, config.token_ttl, config.ttl, config.index_refresh_interval
    if not path or not media_root:
        return None
    if not local_root:
        problems.append("IMGPROXY_MEDIA_ROOT needs IMGPROXY_LOCAL_FILESYSTEM_ROOT (media is served as local:///)")
        return None
    root, local = Path(media_root).resolve(), Path(local_root).resolve()
    if not root.is_dir() or not root.is_relative_to(local):
        problems.append(f"IMGPROXY_MEDIA_ROOT: {media_root!r} must be a folder inside IMGPROXY_LOCAL_FILESYSTEM_ROOT")
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"IMGPROXY_MEDIA_ROUTES_PATH: cannot read {path!r}: {exc.strerror}")
        return None
    routes = parse_routes(text, path, problems)
    index = MediaIndex(str(root), refresh_interval=refresh)
    index.build()
    tokens = TokenAuthority(secret, max_age) if secret else None
    if tokens is None and not signing:
        log.warning("IMGPROXY_MEDIA_TOKEN_SECRET is not set: media routes are open (as unsigned URLs are)")
    return MediaRoutes(routes, index, local, tokens, open_access=not signing, ttl=ttl)


def thumbnail_options(query: dict[str, str], preset_exists: bool) -> str:
    """``/thumbnail/<hash>?frame=N&x=..&y=..&w=..&h=..`` as processing options."""
    parts = ["pr:video_thumbnail"] if preset_exists else ["f:jpg"]
    frame = query.get("frame")
    if frame is not None:
        if not frame.isdigit():
            raise BadRequestError("frame must be a non-negative integer")
        parts.append(f"vf:{int(frame)}")
    else:
        parts.append("vtb:1")
    crop = [query.get(k) for k in ("x", "y", "w", "h")]
    if any(v is not None for v in crop):
        if not all(v is not None and v.isdigit() for v in crop):
            raise BadRequestError("x, y, w and h must be given together, as non-negative integers")
        x, y, w, h = (int(v) for v in crop if v is not None)
        if w == 0 or h == 0:
            raise BadRequestError("w and h must be positive")
        parts.append(f"c:{w}:{h}:nowe:{x}:{y}")
    return "/".join(parts)
