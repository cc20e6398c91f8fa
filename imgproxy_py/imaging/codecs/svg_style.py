"""``style``: a ``<style>`` node put first in an SVG source's ``<svg>``, as imgproxy Pro does.

The CSS comes from the URL, so it must not reach anything outside the SVG: ``@import`` rules,
``url(...)`` references other than the document's own fragments (``#id``) and inline images, and
the functions that take a URL as a plain string (``image-set("a.png" 1x)``, ``image()``,
``src()``) are dropped before it is put in.  It is escaped as XML text, so it can't close the
node it sits in.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from imgproxy_py.errors import UnprocessableImageError

# Every pattern here is applied to a hostile SVG or URL, so none may backtrack over the rest of
# the input from each of many starts (a quadratic scan: 50 KB of "<svg " took 7.5 s).
# Where the root element's start tag may begin, then the whole tag matched there, quoted
# attribute values and all (they may hold ">").
_SVG_CANDIDATE = re.compile(rb"<(?P<prefix>[A-Za-z_][\w.-]*:)?svg(?=[\s/>])")
_SVG_START_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?svg(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_IMPORT = re.compile(r"@import\b[^;]*;?", re.IGNORECASE)
# An unquoted target never holds a parenthesis, quote or space (CSS's url token; a browser reads
# one that does as a bad URL and fetches nothing), so its scan ends at the next "(".
_URL = re.compile(r"""url\s*\(\s*(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)'|(?P<bare>[^()"'\s]*))\s*\)""",
                  re.IGNORECASE)
# A comment left open runs to the end, as in CSS and as an XML parser gives up there.
_XML_COMMENT = re.compile(rb"<!--.*?(?:-->|\Z)", re.DOTALL)
_LOCAL_TARGET = re.compile(r"#|data:image/(png|jpeg|gif|webp|avif);", re.IGNORECASE)
_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
# Functions whose quoted strings are URLs, vendor-prefixed or not (-webkit-image-set).
_STRING_URL_FUNCTION = re.compile(r"(?<![\w-])(?:-[a-z]+-)?(?:image-set|image|src)\s*\(", re.IGNORECASE)
# CSS escapes (\75 rl, \@import) could spell what the patterns above look for.
_ESCAPE = re.compile(r"\\")


def safe_css(css: str) -> str:
    """``css`` without comments, escapes, ``@import`` rules and references outside the SVG."""
    css = _ESCAPE.sub("", _COMMENT.sub("", css))
    css = _IMPORT.sub("", css)
    css = _URL.sub(lambda m: m.group(0) if _LOCAL_TARGET.match(_target(m).strip()) else "none", css)
    return _without_string_url_functions(css)


def _without_string_url_functions(css: str) -> str:
    """``css`` with each call of a function that takes string URLs replaced by ``none``, its
    arguments (nested calls and strings) and all; one left open runs to the end.  One pass:
    a match inside a dropped call is skipped."""
    kept, position = [], 0
    for match in _STRING_URL_FUNCTION.finditer(css):
        if match.start() < position:
            continue
        kept.append(css[position:match.start()])
        kept.append("none")
        position = _call_end(css, match.end())
    kept.append(css[position:])
    return "".join(kept)


def _call_end(css: str, index: int) -> int:
    """Where the call whose arguments start at ``index`` ends: after its closing parenthesis,
    nested ones and those inside strings not counted (a string also ends at a line break)."""
    depth, quote = 1, ""
    while index < len(css):
        char = css[index]
        index += 1
        if quote:
            if char == quote or char == "\n":
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                break
    return index


def _target(match: re.Match[str]) -> str:
    return next((value for value in match.group("double", "single", "bare") if value is not None), "")


def inject_style(data: bytes, css: str) -> bytes:
    """The SVG with ``css`` in a ``<style>`` node as the first child of its root ``<svg>``."""
    candidate = _root_candidate(data)
    match = _SVG_START_TAG.match(data, candidate.start()) if candidate is not None else None
    if candidate is None or match is None:
        raise UnprocessableImageError("SVG without an <svg> element can't take a style")
    start_tag = match.group(0)
    prefix = (candidate.group("prefix") or b"").decode("ascii")
    node = f"<{prefix}style>{escape(safe_css(css))}</{prefix}style>".encode()
    if start_tag.endswith(b"/>"):  # an empty <svg/>: it gets the style as its only child
        opened = start_tag[:-2].rstrip() + b">"
        return data[:match.start()] + opened + node + f"</{prefix}svg>".encode() + data[match.end():]
    return data[:match.end()] + node + data[match.end():]


def _root_candidate(data: bytes) -> re.Match[bytes] | None:
    """The first ``<svg`` (or ``<prefix:svg``) outside XML comments: the root's start tag, as
    only one root is allowed."""
    comments = _XML_COMMENT.finditer(data)
    comment = next(comments, None)
    for candidate in _SVG_CANDIDATE.finditer(data):
        while comment is not None and comment.end() <= candidate.start():
            comment = next(comments, None)
        if comment is None or candidate.start() < comment.start():
            return candidate
    return None
