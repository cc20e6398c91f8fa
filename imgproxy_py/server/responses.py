"""Response headers for processed images, as imgproxy sets them."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import quote, urlsplit

from imgproxy_py.formats import ImageFormat
from imgproxy_py.options.model import OutputOptions

# imgproxy's (since 4.0.6) on every image and error response: an SVG or a body a browser sniffs
# as HTML, opened on the image host, runs nothing, submits nothing and fetches nothing but
# inline data (its own styles and data: images still render).
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def _max_age(max_age: int, now: float) -> dict[str, str]:
    if max_age <= 0:
        return {"Cache-Control": "no-cache"}
    return {"Cache-Control": f"max-age={max_age}, public", "Expires": formatdate(now + max_age, usegmt=True)}


@dataclass(frozen=True)
class CachePolicy:
    """What decides a processed image's ``Cache-Control``, in imgproxy's order (its response
    writer): a fallback image's own TTL, then the URL's ``expires`` if sooner, then, for an
    answer with an error status, nothing a cache may keep, then the origin's headers with
    ``IMGPROXY_CACHE_CONTROL_PASSTHROUGH`` (its ``Cache-Control``, else its ``Expires`` as a
    max-age), then ``IMGPROXY_TTL``; a TTL of 0 is ``no-cache``.  ``Expires`` goes with every
    max-age (imgproxy sends none; caches read max-age first)."""

    ttl: int
    passthrough: bool = False
    fallback_ttl: int = 0

    def headers(self, expires: int | None, *, fallback: bool = False, status: int = 200,
                origin_cache_control: str | None = None, origin_expires: str | None = None,
                now: float | None = None) -> dict[str, str]:
        now = time.time() if now is None else now
        max_age = self.fallback_ttl if fallback and self.fallback_ttl > 0 else -1
        if expires is not None and (max_age < 0 or expires < now + max_age):
            max_age = min(self.ttl, max(0, int(expires - now)))
        if max_age >= 0:
            return _max_age(max_age, now)
        if status >= 400:
            return {"Cache-Control": "no-cache"}
        if self.passthrough and not fallback:
            if origin_cache_control:
                passed = {"Cache-Control": origin_cache_control}
                return {**passed, "Expires": origin_expires} if origin_expires else passed
            until = _seconds_until(origin_expires, now)
            if until:  # an origin Expires in the past falls through to the TTL, as in imgproxy
                return _max_age(until, now)
        return _max_age(self.ttl, now)


def _seconds_until(http_date: str | None, now: float) -> int | None:
    if not http_date:
        return None
    try:
        return max(0, int(parsedate_to_datetime(http_date).timestamp() - now))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def content_disposition(source_url: str, out: OutputOptions, fmt: ImageFormat) -> str:
    name = out.filename
    if not name:
        try:
            path = urlsplit(source_url).path
        except ValueError:  # an unclosed "[" in the host: the name is all that matters here
            path = source_url.split("?", 1)[0]
        base = path.rsplit("/", 1)[-1]  # nothing after the last "/": imgproxy's "image"
        name = (base.rsplit(".", 1)[0] if "." in base else base) or "image"
    filename = f"{name}.{fmt.extension}"
    kind = "attachment" if out.return_attachment else "inline"
    # The name comes from the URL (percent-decoded or base64): a control character would make
    # the header invalid, and CR/LF would end it; a quote is written %22, as imgproxy writes it.
    safe = _CONTROL.sub("_", filename).replace('"', "%22")
    ascii_name = "".join(ch if ord(ch) < 128 else "_" for ch in safe)
    header = f'{kind}; filename="{ascii_name}"'
    if ascii_name != safe:  # non-ASCII: the exact name as well, in RFC 5987's form
        header += f"; filename*=UTF-8''{quote(filename)}"
    return header


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end inclusive) of a single-range ``Range`` header; None: whole body.

    Raises ValueError for a range that can't be satisfied (the caller answers 416).
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # multi-range or another unit: RFC 9110 lets us send the whole body
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            raise ValueError("empty suffix range")
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ValueError("range not satisfiable")
    return start, end
