"""Options about the request rather than the pixels: presets, caching, expiry, file names,
fallbacks, skipping processing, the source's checksum and the security limits."""

from __future__ import annotations

import time

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.delivery_args import (
    HASHSUM_GRAMMAR,
    MEGAPIXELS,
    TAG,
    apply_cache_tags,
    apply_hashsum,
    set_security,
)
from imgproxy_py.options.grammar import Arg, Args, Repeated, Values
from imgproxy_py.options.output import FORMAT, output_option
from imgproxy_py.options.primitives import BASE64, BOOL, INT, NON_NEGATIVE_INT, POSITIVE_INT, STRING, parse_base64
from imgproxy_py.options.registry import Family, Option, OptionsBuilder, Scope, set_out

F = Family.META


def _preset(b: OptionsBuilder, values: Values) -> None:
    for name in values[0]:
        b.apply_preset(name)


def _expires(b: OptionsBuilder, values: Values) -> None:
    timestamp: int = values[0]
    if 0 < timestamp < time.time():
        raise InvalidURLError("Expired URL")
    b.out["expires"] = timestamp if timestamp > 0 else None


def _filename(b: OptionsBuilder, values: Values) -> None:
    name, encoded = values
    b.out["filename"] = parse_base64("filename", name) if encoded else name


def _fallback_image_url(b: OptionsBuilder, values: Values) -> None:
    b.out["fallback_image_url"] = values[0] or ""


def _skip_processing(b: OptionsBuilder, values: Values) -> None:
    formats = list(b.out_value("skip_processing"))
    formats += [fmt for fmt in dict.fromkeys(values[0]) if fmt not in formats]
    b.out["skip_processing"] = tuple(formats)


_SECURITY = (
    ("max_src_resolution", "msr", "resolution", MEGAPIXELS, "`IMGPROXY_MAX_SRC_RESOLUTION` (megapixels) for this URL.",
     "msr:60"),
    ("max_src_file_size", "msfs", "size", NON_NEGATIVE_INT, "`IMGPROXY_MAX_SRC_FILE_SIZE` (bytes) for this URL.",
     "msfs:10000000"),
    ("max_animation_frames", "maf", "size", POSITIVE_INT, "`IMGPROXY_MAX_ANIMATION_FRAMES` for this URL.", "maf:5"),
    ("max_animation_frame_resolution", "mafr", "size", MEGAPIXELS,
     "`IMGPROXY_MAX_ANIMATION_FRAME_RESOLUTION` (megapixels) for this URL.", "mafr:2"),
    ("max_result_dimension", "mrd", "size", NON_NEGATIVE_INT,
     "`IMGPROXY_MAX_RESULT_DIMENSION` (pixels; 0: none) for this URL.", "mrd:200"),
)
_SECURITY_NOTE = " Needs `IMGPROXY_ALLOW_SECURITY_OPTIONS` (else 403)."


OPTIONS = (
    Option("preset", ("pr",), F, Args(tail=Repeated(Arg("name", STRING))), _preset,
           "Apply named presets here (`IMGPROXY_PRESETS`, the bundled ones).", "pr:thumbnail"),
    output_option("cachebuster", ("cb",), F, Arg("string", STRING), "cachebuster",
                  "Any text: changes the URL, the cache key and the ETag, not the image.", "cb:v2"),
    Option("expires", ("exp",), F, Args(Arg("timestamp", INT)), _expires,
           "Unix time after which the URL is a 404 \"Expired URL\"; caps `Cache-Control`; not part of the "
           "cache keys or the ETag; 0: never.",
           "exp:4102444800", Scope.OUTPUT),
    Option("filename", ("fn",), F, Args(Arg("filename", STRING), Arg("encoded", BOOL)), _filename,
           "File name for `Content-Disposition` (default: the source URL's last path segment without "
           "its extension, `image` when there is none; a quote is written `%22`, a non-ASCII name is "
           "also given as `filename*`); with `encoded` 1 it is URL-safe base64.", "fn:kitten",
           Scope.OUTPUT),
    output_option("return_attachment", ("att",), F, Arg("return_attachment", BOOL), "return_attachment",
                  "`Content-Disposition: attachment` instead of inline (default `IMGPROXY_RETURN_ATTACHMENT`, "
                  "false).", "att:1"),
    Option("fallback_image_url", ("fiu",), F, Args(Arg("url", BASE64, keep_if_empty=True)), _fallback_image_url,
           "The image (URL-safe base64 URL) to serve when the source cannot be had.",
           "fiu:bG9jYWw6Ly8vY29mZmVlLmpwZw", Scope.OUTPUT),
    output_option("raw", (), F, Arg("raw", BOOL), "raw",
                  "Stream the source unchanged and unchecked.", "raw:1"),
    Option("skip_processing", ("skp", "sp"), F, Args(tail=Repeated(Arg("extension", FORMAT))), _skip_processing,
           "Return sources of these formats unprocessed.", "skp:gif:png/rs:fit:300:300", Scope.OUTPUT,
           "iss634.gif"),
    Option("bypass_cache", ("bc",), F, Args(Arg("bypass", BOOL)), set_out("bypass_cache"),
           "Skip the source and result caches (both are refreshed); needs `IMGPROXY_ALLOW_BYPASS_CACHE` (else 403).",
           "bc:1", Scope.OUTPUT),
    Option("cache_tags", ("ct",), F, Args(tail=Repeated(Arg("tag", TAG))), apply_cache_tags,
           "Tags for the response's `Cache-Tag` / `x-amz-meta-cache-tag` headers (`IMGPROXY_CACHE_TAGS_FORMAT`).",
           "ct:cats:kitten", Scope.OUTPUT),
    Option("hashsum", ("hs",), F, HASHSUM_GRAMMAR, apply_hashsum,
           "The source's expected `md5`, `sha1`, `sha256` or `sha512` (hex); a mismatch is a 422. "
           "Videos are not checked.", "hs:none", Scope.OUTPUT),
    *(Option(name, (alias,), F, Args(Arg(arg, kind)), set_security(name), description + _SECURITY_NOTE, example,
             Scope.OUTPUT)
      for name, alias, arg, kind, description, example in _SECURITY),
)
