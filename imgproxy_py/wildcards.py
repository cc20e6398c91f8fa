"""imgproxy's wildcard patterns: ``IMGPROXY_ALLOWED_SOURCES`` and ``IMGPROXY_URL_REPLACEMENTS``.

imgproxy turns each pattern into a prefix regexp: ``^`` then the pattern with every ``*``
replaced by ``([^/]*)`` (anything but a slash, dots included) and everything else quoted.
A replacement is a Go ``Regexp.Expand`` template: ``${1}`` or ``$1`` is the first wildcard's
text, ``$$`` a dollar sign, a reference to a group that does not exist the empty string.

One deliberate difference: when a pattern ends with ``/`` and its replacement does not, the
slash is kept, so imgproxy's documented example ``mys3://*/=s3://my_bucket/${1}/images``
gives ``s3://my_bucket/items/images/image01.jpg`` for ``mys3://items/image01.jpg``, as its docs
promise (imgproxy's code glues ``imagesimage01.jpg``, which no one can have meant).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from imgproxy_py.envreader import EnvReader

_GO_REFERENCE = re.compile(r"\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def wildcard_regexp(pattern: str) -> re.Pattern[str]:
    """imgproxy's ``RegexpFromPattern``: a prefix match, ``*`` for any run of non-slashes."""
    return re.compile("^" + "([^/]*)".join(re.escape(part) for part in pattern.split("*")))


def go_expander(template: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement function that expands ``template`` as Go's ``Regexp.Expand``."""

    def expand(match: re.Match[str]) -> str:
        def group(ref: re.Match[str]) -> str:
            if ref.group(0) == "$$":
                return "$"
            name = ref.group(1) or ref.group(2)
            if name.isdigit() and int(name) <= (match.re.groups or 0):
                return match.group(int(name)) or ""
            return ""  # Go: an unknown group (wildcards have no names) expands to nothing

        return _GO_REFERENCE.sub(group, template)

    return expand


URLReplacement = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def url_replacements(r: EnvReader, name: str = "IMGPROXY_URL_REPLACEMENTS") -> tuple[URLReplacement, ...]:
    """``pattern=replacement`` pairs divided by ``;`` (imgproxy splits at the first ``=``)."""
    out: list[URLReplacement] = []
    for item in r.string(name).split(";"):
        if not item.strip():
            continue
        pattern, eq, replacement = item.partition("=")
        if not eq:
            r.errors.append(f"{name}: {item!r} is not pattern=replacement")
            continue
        if pattern.endswith("/") and not replacement.endswith("/"):
            replacement += "/"  # keep the path boundary the pattern matched (see above)
        out.append((wildcard_regexp(pattern), go_expander(replacement)))
    return tuple(out)
