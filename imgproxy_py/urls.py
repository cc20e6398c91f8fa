"""Build and sign imgproxy URLs from Python, with no server and no image library needed.

Usage::

    >>> from imgproxy_py.urls import ImgproxyURL, Options, build_url
    >>> opts = Options().resize("fill", 300, 400, False).gravity("sm")
    >>> build_url(opts, "http://example.com/images/curiosity.jpg", key="736563726574",
    ...           salt="68656C6C6F", source="base64", chunk_size=16, extension="png")
    '/oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png'

    >>> imgproxy = ImgproxyURL(base="https://img.example.com")   # no key: unsigned
    >>> imgproxy.build(Options().width(300).quality(80), "https://example.com/a b.jpg")
    'https://img.example.com/insecure/w:300/q:80/plain/https%3A%2F%2Fexample.com%2Fa%20b.jpg'

What the builder emits, and why (it matches imgproxy's official client libraries):

* Short option names (``rs``, ``g``, ``q``...), as imgproxy's Ruby and JavaScript clients
  do by default; ``full_names=True`` switches to the long ones.
* Booleans as ``1``/``0`` (the Ruby client and imgproxy's documentation examples; imgproxy
  also accepts ``t``/``true``, which the JavaScript client sends).  Numbers with no
  fractional part lose it (``2.0`` -> ``2``); no exponent notation.
* Unset arguments are left empty and trailing empty arguments are trimmed
  (``g:nowe::10``, ``t:10::1``), as in imgproxy's documentation; an option never loses its
  ``:`` (an option segment without one would be read as the start of the source URL).
* Options appear in the order they were added; adding one twice emits it twice (imgproxy
  applies options in order, so the later one wins).  :meth:`Options.then` inserts the
  ``-`` segment of a chained pipeline.
* Plain source URLs are used as they are unless they contain a character that is unsafe
  in a URL path (``%``, ``?``, ``#``, ``@``, space, non-ASCII, control characters, quotes,
  ``<>\\^`{|}``); then the whole URL is percent-encoded, as imgproxy's Ruby client does.
  ``escape_plain="always"`` always encodes.  An extension follows ``@``.
* Base64 sources are URL-safe Base64 without padding, unsplit by default (the JavaScript
  client); ``chunk_size=16`` splits them as the documentation and the Ruby client do.  An
  extension follows ``.``.
* Encrypted sources go under ``/enc/`` (see :mod:`imgproxy_py.security.encryption` for the
  deterministic IV).
* Unsigned URLs carry the ``insecure`` placeholder (imgproxy accepts any signature when
  no key is configured; the Ruby client uses ``unsafe``: set ``unsigned_signature``).
"""

# The code lives in imgproxy_py/url/ (builder, options, info, gravity, chain, arguments); this
# module is the stable public name.
from imgproxy_py.url.arguments import ArgValue, CompassGravity, ResizingType, WatermarkPosition
from imgproxy_py.url.builder import (
    ImgproxyURL,
    KeyLike,
    SourceMode,
    build_info_url,
    build_url,
    escape_plain_url,
    parse_key_salt,
    sign,
)
from imgproxy_py.url.chain import Option
from imgproxy_py.url.gravity import Gravity, GravityLike
from imgproxy_py.url.info import InfoOptions
from imgproxy_py.url.options import Options

__all__ = [
    "ArgValue",
    "CompassGravity",
    "Gravity",
    "GravityLike",
    "ImgproxyURL",
    "InfoOptions",
    "KeyLike",
    "Option",
    "Options",
    "ResizingType",
    "SourceMode",
    "WatermarkPosition",
    "build_info_url",
    "build_url",
    "escape_plain_url",
    "parse_key_salt",
    "sign",
]
