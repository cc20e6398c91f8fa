"""Response headers for processed images, as imgproxy sets them."""

from __future__ import annotations

import time
from email.utils import formatdate
from urllib.parse import quote, urlsplit

from imgproxy_py.formats import ImageFormat
from imgproxy_py.options.model import OutputOptions


def cache_headers(ttl: int, expires: int | None, now: float | None = None) -> dict[str, str]:
    now = time.time() if now is None else now
    max_age = ttl
    if expires is not None:
        max_age = max(0, min(ttl, int(expires - now)))
    return {
        "Cache-Control": f"max-age={max_age}, public",
        "Expires": formatdate(now + max_age, usegmt=True),
    }


def content_disposition(source_url: str, out: OutputOptions, fmt: ImageFormat) -> str:
    name = out.filename
    if not name:
        path = urlsplit(source_url).path
        base = path.rstrip("/").rsplit("/", 1)[-1] or "image"
        name = base.rsplit(".", 1)[0] if "." in base else base
    filename = f"{name}.{fmt.extension}"
    kind = "attachment" if out.return_attachment else "inline"
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    header = f'{kind}; filename="{ascii_name}"'
    if ascii_name != filename:
        header += f"; filename*=UTF-8''{quote(filename)}"
    return header
