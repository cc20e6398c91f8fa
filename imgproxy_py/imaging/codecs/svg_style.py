"""``style``: a ``<style>`` node put first in an SVG source's ``<svg>``, as imgproxy Pro does.

The CSS comes from the URL, so it must not reach anything outside the SVG: ``@import`` rules and
``url(...)`` references other than the document's own fragments (``#id``) and inline images are
dropped before it is put in.  It is escaped as XML text, so it can't close the node it sits in.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from imgproxy_py.errors import UnprocessableImageError

# The root element's start tag, quoted attribute values and all (they may hold ">").
_SVG_START = re.compile(rb"<(?P<prefix>[A-Za-z_][\w.-]*:)?svg(?=[\s/>])(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_IMPORT = re.compile(r"@import\b[^;]*;?", re.IGNORECASE)
_URL = re.compile(r"url\s*\(\s*(?P<quote>[\"']?)(?P<target>.*?)(?P=quote)\s*\)", re.IGNORECASE | re.DOTALL)
_XML_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_LOCAL_TARGET = re.compile(r"#|data:image/(png|jpeg|gif|webp|avif);", re.IGNORECASE)
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# CSS escapes (\75 rl, \@import) could spell what the patterns above look for.
_ESCAPE = re.compile(r"\\")


def safe_css(css: str) -> str:
    """``css`` without comments, escapes, ``@import`` rules and references outside the SVG."""
    css = _ESCAPE.sub("", _COMMENT.sub("", css))
    css = _IMPORT.sub("", css)
    return _URL.sub(lambda m: m.group(0) if _LOCAL_TARGET.match(m.group("target").strip()) else "none", css)


def inject_style(data: bytes, css: str) -> bytes:
    """The SVG with ``css`` in a ``<style>`` node as the first child of its root ``<svg>``."""
    comments = [m.span() for m in _XML_COMMENT.finditer(data)]
    match = next((m for m in _SVG_START.finditer(data)
                  if not any(start <= m.start() < end for start, end in comments)), None)
    if match is None:
        raise UnprocessableImageError("SVG without an <svg> element can't take a style")
    start_tag = match.group(0)
    prefix = (match.group("prefix") or b"").decode("ascii")
    node = f"<{prefix}style>{escape(safe_css(css))}</{prefix}style>".encode()
    if start_tag.endswith(b"/>"):  # an empty <svg/>: it gets the style as its only child
        opened = start_tag[:-2].rstrip() + b">"
        return data[:match.start()] + opened + node + f"</{prefix}svg>".encode() + data[match.end():]
    return data[:match.end()] + node + data[match.end():]
