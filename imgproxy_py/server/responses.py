"""Response headers for processed images, as imgproxy sets them."""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from urllib.parse import quote, urlsplit

from imgproxy_py.formats import ImageFormat
from imgproxy_py.options.model import OutputOptions

# imgproxy's (since 4.0.6) on every image and error response: an SVG or a body a browser sniffs
# as HTML, opened on the image host, runs nothing, submits nothing and fetches nothing but
# inline data (its own styles and data: images still render).
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def cache_headers(ttl: int, expires: int | None, now: float | None = None) -> dict[str, str]:
    now = time.time() if now is None else now
    max_age = ttl
    if expires is not None:
        max_age = max(0, min(ttl, int(expires - now)))
    return {
        "Cache-Control": f"max-age={max_age}, public",
        "Expires": formatdate(now + max_age, usegmt=True),
    }


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def content_disposition(source_url: str, out: OutputOptions, fmt: ImageFormat) -> str:
    name = out.filename
    if not name:
        try:
            path = urlsplit(source_url).path
        except ValueError:  # an unclosed "[" in the host: the name is all that matters here
            path = source_url.split("?", 1)[0]
        base = path.rstrip("/").rsplit("/", 1)[-1] or "image"
        name = base.rsplit(".", 1)[0] if "." in base else base
    filename = f"{name}.{fmt.extension}"
    kind = "attachment" if out.return_attachment else "inline"
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    # The name comes from the URL (percent-decoded or base64): a control character would make
    # the header invalid, and CR/LF would end it.
    ascii_name = _CONTROL.sub("_", ascii_name)
    header = f'{kind}; filename="{ascii_name}"'
    if ascii_name != filename:
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
