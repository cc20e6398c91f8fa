"""Hypothesis strategies for hostile image URLs, shared by the in-process and the HTTP fuzz tests.

Option names come from the option registry itself, so an option added later is fuzzed without
touching this file.  Arguments mix values that reach the pipeline (small numbers, known words)
with the ones that break parsers: numbers past int64 and float64, exponent forms, NaN and
infinities, non-ASCII digits, empty strings, separators inside arguments and hundreds of them.
"""

from __future__ import annotations

import base64
import contextlib
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from hypothesis import strategies as st

from imgproxy_py.formats import ImageFormat
from imgproxy_py.options.catalog import registry
from imgproxy_py.options.model import GravityType, ResizingType
from imgproxy_py.security.encryption import encrypt_source_url

T = TypeVar("T")

# Every option, read from the registry, with each of its names (full and short).
OPTION_SPELLINGS: tuple[tuple[str, ...], ...] = tuple((spec.name, *spec.aliases) for spec in registry.specs())
ENCRYPTION_KEY = "1eb5b0e971ad7f45324c1bb15c947cb207c43152fa5c6c7f35c4f36e0c18e0f1"
PRESETS = "small=rs:fit:40:40/q:50,chain=bl:1/-/pd:2/rs:fill:30:30"
# Every kind of picture the pipeline treats apart: palette and alpha, animation, 16-bit grey (a
# one-band image of one pixel was a NumPy array without axes), CMYK, EXIF rotation, HEIF, vector.
SOURCES = ("local:///core/hopper.jpg", "local:///core/p_trns_single.png", "local:///core/hopper.gif",
           "local:///core/decompression_bomb_extents.gif", "local:///core/16bit.deflate.tif",
           "local:///core/pil_sample_cmyk.jpg", "local:///core/hopper_orientation_6.jpg", "local:///core/iss634.webp",
           "local:///core/hopper.heif", "local:///imgproxy/test1.svg")
BAD_SOURCES = ("local:///core/none.jpg", "local:///core/hop%0D%0Aper.jpg", "local:///%2e%2e/%2e%2e/etc/passwd",
               "http://example.com/a.jpg", "http://[::1/a.jpg", "http://127.0.0.1:99999/a.jpg",
               "local:///" + "a" * 300, "")
# What a server may let through to its fetcher without any network.
ALLOWED_SOURCES = "local://,http://[,http://127.0.0.1:99999/"

INT_EDGES = ("0", "-0", "+1", "-1", "00012", str(2**31 - 1), str(2**31), str(2**63 - 1), str(2**63),
             str(-(2**63)), str(-(2**63) - 1), "99999999999999999999", "0" * 300 + "7", "9" * 5000)
FLOAT_EDGES = ("1e309", "-1e309", "1e308", "1.7976931348623157e308", "5e-324", "1e-400", "nan", "NaN",
               "inf", "-inf", "Infinity", "0x1p3", "1_000", " 1", "1 ", ".5", "5.", "1e", "e5", "-0.0",
               "1E3", "1e-7", "0.9999999999999999", "1.0000000000000002")
UNICODE = ("²", "١٢٣", "٣", "五", "\u00a0", "𝟙", "ｆｉｔ", "\x00", "é", "\r\n", "\t")
WORDS = (*(t.value for t in ResizingType), *(t.value for t in GravityType), *(f.value for f in ImageFormat),
         "jpg", "tif", "heif", "1", "0", "t", "f", "true", "false", "yes", "face", "all", "person",
         "small", "chain", "nope", "ffffff", "f00", "none", "dssim", "size", "ml")



def often(common: st.SearchStrategy[T], rare: st.SearchStrategy[T], times: int) -> st.SearchStrategy[T]:
    """``common`` about ``times`` times as often as ``rare`` (one_of has no weights; it even merges
    repeated branches), shrinking towards ``common``."""
    return st.sampled_from([True] * times + [False]).flatmap(lambda pick: common if pick else rare)


_char = st.characters(codec="utf-8")  # no lone surrogates: they can't arrive in a URL
_text = st.text(alphabet=often(_char, st.sampled_from(":/-@.%=_"), 3), max_size=16)


def _number(value: float) -> str:
    return f"{value:g}"


# Each option's arguments follow one style, so that most requests reach the pipeline, with now
# and then a hostile value that still parses (int64's largest padding, a zoom of 1e300).
plain_ints = st.integers(-2, 400).map(str)
plain_floats = st.floats(0, 3).map(_number)
words = st.sampled_from(WORDS)
hostile_int = st.one_of(
    st.integers().map(str),
    st.integers(-(2**64), 2**64).map(str),
    st.integers(10**4, 10**7).map(str),  # large but plausible sizes
    st.sampled_from(INT_EDGES),
)
hostile_float = st.one_of(
    st.floats().map(repr),
    st.floats(allow_nan=False).map(lambda f: f"{f:e}"),
    st.floats(1e3, 1e7).map(_number),
    st.sampled_from(FLOAT_EDGES),
)
junk = st.one_of(
    st.sampled_from(UNICODE),
    st.text(alphabet="0123456789abcdefABCDEF", min_size=3, max_size=6),
    st.binary(max_size=24).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")),
    _text,
)
STYLES: tuple[st.SearchStrategy[str], ...] = (
    often(plain_ints, hostile_int, 3),
    often(plain_floats, hostile_float, 3),
    often(st.one_of(words, st.just("")), junk, 4),
    # Mixed: the second and later arguments of gravity, crop, watermark, format_quality...
    often(st.one_of(plain_ints, plain_floats, words, st.just("")),
          st.one_of(hostile_int, hostile_float, junk), 3),
)


@st.composite
def arguments(draw: st.DrawFn) -> list[str]:
    """Mostly the one to four arguments options take; now and then a dozen or hundreds."""
    argument = draw(st.sampled_from(STYLES))
    return draw(often(st.lists(argument, min_size=1, max_size=4),
                      st.one_of(st.lists(argument, max_size=12), st.lists(argument, min_size=100, max_size=300)),
                      6))


@st.composite
def option_segment(draw: st.DrawFn) -> str:
    name = draw(often(st.sampled_from(OPTION_SPELLINGS).flatmap(st.sampled_from), _text, 15))
    separator = draw(st.sampled_from([":"] * 8 + ["%3A", "%3a"]))
    return name + separator + separator.join(draw(arguments()))


segment = often(option_segment(), often(st.just("-"), _text, 2), 6)


@st.composite
def source_part(draw: st.DrawFn) -> str:
    """The source as plain, base64 (maybe split by "/") or enc, with an extension, or junk."""
    url = draw(often(often(st.sampled_from(SOURCES), st.sampled_from(BAD_SOURCES), 3), _text, 12))
    ext = draw(often(st.just(""), often(st.sampled_from(WORDS), _text, 3), 4))
    kind = draw(st.sampled_from(["plain"] * 6 + ["base64", "base64", "enc", "enc", "junk"]))
    if kind == "plain":
        return "plain/" + url + ("@" + ext if ext else "")
    if kind == "junk":
        return draw(_text)
    if kind == "base64":
        encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    else:
        encoded = encrypt_source_url(url, ENCRYPTION_KEY)
    if encoded and draw(st.booleans()):
        cut = draw(st.integers(0, len(encoded)))
        encoded = encoded[:cut] + "/" + encoded[cut:]
    encoded = encoded + ("." + ext if ext else "")
    return encoded if kind == "base64" else "enc/" + encoded


@st.composite
def image_path(draw: st.DrawFn) -> str:
    """A request path: signature, segments (options, "-", junk; a few, now and then dozens), source."""
    signature = draw(often(st.sampled_from(["unsafe", "insecure", "_"]),
                           st.one_of(st.sampled_from(["sig:nature", ""]), _text), 20))
    segments = draw(often(st.lists(segment, max_size=4), st.lists(segment, max_size=40), 6))
    return "/" + "/".join([signature, *segments, draw(source_part())])


@contextlib.contextmanager
def address_space_limit(headroom: int) -> Iterator[None]:
    """Cap this process's address space at its present size plus ``headroom`` bytes.

    A backstop for the machine while fuzzing: an image that slips past the server's own limits
    fails to allocate instead of swapping everything out.
    """
    statm = Path("/proc/self/statm")
    if not statm.exists():  # not Linux: no present size to start from
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    size = int(statm.read_text().split()[0]) * resource.getpagesize()
    limit = size + headroom if hard == resource.RLIM_INFINITY else min(size + headroom, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))

