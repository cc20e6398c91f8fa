"""Output options: format, quality, size limit, metadata (resolution and colour profile too),
which page of the source, and the style an SVG source is rendered with."""

from __future__ import annotations

import re
import urllib.parse

from imgproxy_py.formats import ImageFormat, format_by_name
from imgproxy_py.options.grammar import Arg, Args, ArgType, Pairs, Values
from imgproxy_py.options.primitives import (
    BOOL,
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    QUALITY,
    bad_argument,
    parse_base64,
    parse_non_negative_float,
)
from imgproxy_py.options.registry import Family, Option, OptionsBuilder, Scope, set_out
from imgproxy_py.options.values_encoding import BUILTIN_PROFILES


def parse_format_name(option: str, arg: str) -> ImageFormat:
    fmt = format_by_name(arg)
    if fmt is None:
        raise bad_argument(option, arg, "supported image format")
    return fmt


FORMAT = ArgType("image format", parse_format_name)
# JFIF keeps the density in 16 bits: more would be written wrong, not refused, by the savers.
MAX_DPI = 65535.0
# A profile file's name is one path segment: a URL can't reach outside IMGPROXY_COLOR_PROFILES_DIR.
_PROFILE_FILE_RE = re.compile(r"[^/\\\x00]{1,255}")


def parse_dpi(option: str, arg: str) -> float:
    dpi = parse_non_negative_float(option, arg)
    if dpi > MAX_DPI:
        raise bad_argument(option, arg, f"number in range 0-{MAX_DPI:.0f}")
    return dpi


def parse_profile_name(option: str, arg: str) -> str:
    """``srgb``, ``cmyk`` or a file name in ``IMGPROXY_COLOR_PROFILES_DIR``, percent-encoded in the
    URL; whether the file is there is known when encoding."""
    name = urllib.parse.unquote(arg)
    if name.lower() in BUILTIN_PROFILES:
        return name.lower()
    if not _PROFILE_FILE_RE.fullmatch(name) or name.strip(".") == "":
        raise bad_argument(option, arg, "srgb, cmyk or a profile file name")
    return name


BEST = "best"


def parse_output_format(option: str, arg: str) -> ImageFormat | str:
    """A format, or imgproxy Pro's ``best`` (the smallest of the candidates)."""
    return BEST if arg.lower() == BEST else parse_format_name(option, arg)


def _format(b: OptionsBuilder, values: Values) -> None:
    value = values[0]
    if value is None:  # empty: keep what is there
        return
    b.out["best_format"] = value == BEST
    b.out["format"] = None if value == BEST else value


OUTPUT_FORMAT = ArgType("image format or `best`", parse_output_format)


def output_option(name: str, aliases: tuple[str, ...], family: Family, arg: Arg, field: str, description: str,
                  example: str, source: str = "chelsea.jpg") -> Option:
    """A one-argument option of the request as a whole (``OutputOptions.field``)."""
    return Option(name, aliases, family, Args(arg), set_out(field), description, example, Scope.OUTPUT, source)


def _format_quality(b: OptionsBuilder, values: Values) -> None:
    merged = dict(b.out_value("format_quality"))
    merged.update(values[0])
    b.out["format_quality"] = tuple(sorted(merged.items()))


F = Family.OUTPUT

OPTIONS = (
    Option("format", ("f", "ext"), F, Args(Arg("extension", OUTPUT_FORMAT, keep_if_empty=True)), _format,
           "Output format by name or extension (`jpg`, `png`, `webp`, `avif`, `jxl`, `heic`...), or `best`: "
           "the smallest of the candidates; the URL's `@ext`/`.ext` does the same and wins; empty: the source's.",
           "rs:fit:300:300/f:webp", Scope.OUTPUT),
    output_option("quality", ("q",), F, Arg("quality", QUALITY), "quality",
                  "Output quality 1-100; 0: the format's configured default.", "q:70"),
    Option("format_quality", ("fq",), F, Args(tail=Pairs(Arg("format", FORMAT), Arg("quality", QUALITY))),
           _format_quality, "Quality per output format, over `q`.", "fq:webp:70:avif:50/f:webp",
           Scope.OUTPUT),
    output_option("max_bytes", ("mb",), F, Arg("bytes", NON_NEGATIVE_INT), "max_bytes",
                  "Lower the quality until the result fits this many bytes.", "mb:30000"),
    output_option("strip_metadata", ("sm",), F, Arg("strip_metadata", BOOL), "strip_metadata",
                  "Drop EXIF, IPTC and XMP (default `IMGPROXY_STRIP_METADATA`, true).", "sm:0"),
    output_option("keep_copyright", ("kcr",), F, Arg("keep_copyright", BOOL), "keep_copyright",
                  "Keep EXIF Copyright and Artist when stripping metadata (default true).", "kcr:0"),
    output_option("strip_color_profile", ("scp",), F, Arg("strip_color_profile", BOOL), "strip_color_profile",
                  "Apply the embedded ICC profile (the result is sRGB, without one; default). With 0 an RGB "
                  "source keeps its own colour space and profile (Display P3, Adobe RGB) where the format "
                  "holds one; other sources are converted.", "scp:0"),
    output_option("dpi", (), F, Arg("dpi", ArgType(f"number 0-{MAX_DPI:.0f}", parse_dpi)), "dpi",
                  "The result's resolution metadata (JFIF density, PNG pHYs, EXIF); 0: the image's own, "
                  "`IMGPROXY_STRIP_METADATA_DPI` when metadata is stripped.", "dpi:300"),
    output_option("color_profile", ("cp", "icc"), F,
                  Arg("profile", ArgType("`srgb` `cmyk` or a file name", parse_profile_name)), "color_profile",
                  "Convert to this ICC profile and embed it: `srgb`, `cmyk` (JPEG and TIFF) or a file in "
                  "`IMGPROXY_COLOR_PROFILES_DIR` (`.icc`/`.icm` may be left out); ignored by formats "
                  "without profiles.", "cp:srgb"),
    output_option("style", ("st", "stl"), F, Arg("style", ArgType("URL-safe base64 CSS", parse_base64)), "style",
                  "CSS put in a `<style>` first in an SVG source's `<svg>` before it is rendered; "
                  "references outside the SVG are dropped.", "st:cmVjdCB7IGZpbGw6IGJsdWUgfQ", "badge.svg"),
    output_option("enforce_thumbnail", ("eth",), F, Arg("enforce_thumbnail", BOOL), "enforce_thumbnail",
                  "Use the thumbnail embedded in HEIC/AVIF sources when there is one.", "eth:1"),
    output_option("page", ("pg",), F, Arg("page", NON_NEGATIVE_INT), "page",
                  "The page (PDF, TIFF) or frame (GIF, WebP) to use, from 0; ignored on a source with one "
                  "picture, 422 past the last of several.", "pg:2", "iss634.gif"),
    output_option("pages", ("pgs",), F, Arg("pages", POSITIVE_INT), "pages",
                  "How many pages or frames from `page` to use, stacked top to bottom and left-aligned "
                  "(an animated result keeps all the frames instead).", "pg:1/pgs:3/f:png", "iss634.gif"),
    output_option("preserve_hdr", ("ph",), F, Arg("preserve_hdr", BOOL), "preserve_hdr",
                  "Keep a 16-bit source 16-bit where the result can hold it (PNG, AVIF, JPEG XL, TIFF, HEIC); "
                  "default `IMGPROXY_PRESERVE_HDR`.", "ph:1/f:png"),
    output_option("disable_animation", ("da",), F, Arg("disable_animation", BOOL), "disable_animation",
                  "Treat an animated source as a still image (its first frame).", "da:1", "iss634.gif"),
)
