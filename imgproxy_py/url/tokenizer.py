"""The URL tokenizer: from a request path to signature, option tokens and source URL.

This module knows imgproxy's URL grammar and nothing about what options mean:

    /%signature/%option:%arg/.../plain/%source_url@%ext
    /%signature/%option:%arg/.../%base64url_source[.%ext]
    /%signature/%option:%arg/.../enc/%ciphertext[.%ext]

A ``-`` segment between options starts a new chained pipeline.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from imgproxy_py.errors import InvalidURLError

# A proxy or CDN may collapse "//" to "/": imgproxy restores "http:/x" to "http://x".
_FIX_SCHEME_RE = re.compile(r"^(\S+?):/([^/])")
RESIZE_TYPES = frozenset({"fit", "fill", "fill-down", "force", "auto"})


@dataclass(frozen=True)
class SourceRef:
    url: str
    extension: str  # "" when the URL names none
    encrypted: bool = False


@dataclass(frozen=True)
class ParsedPath:
    signature: str
    signed_path: str  # what the signature covers: everything after it, with its leading "/"
    options: tuple[tuple[str, tuple[str, ...]], ...]  # ("-", ()) separates pipelines
    source: SourceRef


@dataclass(frozen=True)
class URLGrammar:
    """The configurable parts of the grammar (imgproxy's env settings)."""

    arguments_separator: str = ":"
    base64_url_includes_filename: bool = False
    only_presets: bool = False
    base_url: str = ""
    # (pattern, replacement): a re.sub replacement, a string or a function (imgproxy's
    # wildcard templates are functions, see wildcards)
    url_replacements: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = ()


def split_signature(path: str) -> tuple[str, str]:
    """``/sig/rest`` -> ``("sig", "rest")`` with ``rest`` re-denormalized."""
    trimmed = path.lstrip("/")
    signature, _, rest = trimmed.partition("/")
    if not signature or not rest:
        raise InvalidURLError(f"Invalid path: {path}")
    return signature, redenormalize(rest)


def redenormalize(path: str) -> str:
    """Undo what proxies do to paths: ``%3A`` in options and a collapsed ``scheme://``."""
    if path.startswith("plain/"):
        options, plain, has_plain = "", path[6:], True
    else:
        options, sep, plain = path.partition("/plain/")
        has_plain = bool(sep)
    options = options.replace("%3A", ":").replace("%3a", ":")
    if not has_plain:
        return options.lstrip("/")
    match = _FIX_SCHEME_RE.match(plain)
    if match:
        scheme = match.group(1)
        repl = f"{scheme}://" + ("/" if scheme == "local" else "") + match.group(2)
        plain = repl + plain[match.end():]
    return (options + "/plain/" + plain).lstrip("/")


def parse_path(path: str, grammar: URLGrammar,
               decrypt: Callable[[str], str] | None = None) -> ParsedPath:
    """Tokenize a request path (the raw, still percent-encoded path, without query)."""
    signature, rest = split_signature(path)
    parts = rest.split("/")
    sep = grammar.arguments_separator
    tokens: list[tuple[str, tuple[str, ...]]] = []
    if grammar.only_presets:
        tokens.append(("preset", tuple(p for p in parts[0].split(sep) if p)))
        source_parts = parts[1:]
    else:
        if parts[0] in RESIZE_TYPES:
            raise InvalidURLError("It looks like you're using the deprecated basic URL format")
        index = 0
        for index, part in enumerate(parts):  # noqa: B007 - index is used after the loop
            if part == "-":
                tokens.append(("-", ()))
                continue
            name, has_sep, args = part.partition(sep)
            if not has_sep:
                break
            tokens.append((name, tuple(args.split(sep))))
        else:
            index = len(parts)
        source_parts = parts[index:]
    source = decode_source(source_parts, grammar, decrypt)
    return ParsedPath(signature, "/" + rest, tuple(tokens), source)


def decode_source(parts: list[str], grammar: URLGrammar,
                  decrypt: Callable[[str], str] | None = None) -> SourceRef:
    if not parts or not parts[0]:
        raise InvalidURLError("Image URL is empty")
    if parts[0] == "plain" and len(parts) > 1:
        return _decode_plain(parts[1:], grammar)
    if parts[0] == "enc" and len(parts) > 1:
        if decrypt is None:
            raise InvalidURLError("Encrypted source URLs are not enabled")
        cipher, ext = _split_extension("".join(parts[1:]), ".")
        return SourceRef(_preprocess(decrypt(cipher), grammar), ext, encrypted=True)
    return _decode_base64(parts, grammar)


def _split_extension(encoded: str, marker: str) -> tuple[str, str]:
    pieces = encoded.split(marker)
    if not pieces[0]:
        raise InvalidURLError("Image URL is empty")
    if len(pieces) > 2:
        raise InvalidURLError("Multiple formats are specified")
    return pieces[0], pieces[1] if len(pieces) == 2 else ""


def _decode_plain(parts: list[str], grammar: URLGrammar) -> SourceRef:
    encoded, ext = _split_extension("/".join(parts), "@")
    try:
        url = unquote(encoded, errors="strict")
    except UnicodeDecodeError:  # escapes that are not UTF-8 (%80): no URL a source can have
        raise InvalidURLError("Invalid url encoding") from None
    return SourceRef(_preprocess(url, grammar), ext)


def _decode_base64(parts: list[str], grammar: URLGrammar) -> SourceRef:
    if len(parts) > 1 and grammar.base64_url_includes_filename:
        parts = parts[:-1]
    encoded, ext = _split_extension("".join(parts), ".")
    stripped = encoded.rstrip("=")
    try:
        raw = base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=b"-_", validate=True)
        url = raw.decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidURLError("Invalid url encoding") from None
    return SourceRef(_preprocess(url, grammar), ext)


def _preprocess(url: str, grammar: URLGrammar) -> str:
    for pattern, replacement in grammar.url_replacements:
        url = pattern.sub(replacement, url)
    if grammar.base_url and not url.startswith(grammar.base_url):
        url = grammar.base_url + url
    return url
