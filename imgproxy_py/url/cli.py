"""The ``sign`` and ``url`` subcommands: sign paths and build URLs from the command line.

::

    imgproxy-py sign --key 736563726574 --salt 68656C6C6F /rs:fill:300:400:0/g:sm/plain/http://x/y.jpg
    imgproxy-py url http://example.com/cat.jpg --resize fill:300:200 --gravity sm --format webp \\
        --base https://img.example.com

Every declared processing option has a flag named after it (``--min-width`` writes ``mw:``);
``-o NAME:ARGS`` writes any option.  Keys default to ``IMGPROXY_KEY``/``IMGPROXY_SALT`` (the
first pair of comma lists), the signature size to ``IMGPROXY_SIGNATURE_SIZE`` and the
encryption key to ``IMGPROXY_SOURCE_URL_ENCRYPTION_KEY``.  Usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imgproxy_py.options.catalog import PROCESSING_OPTIONS
from imgproxy_py.options.info.declarations import INFO_OPTIONS
from imgproxy_py.url.builder import ImgproxyURL, SourceMode, parse_key_salt, sign
from imgproxy_py.url.info import InfoOptions
from imgproxy_py.url.options import Options

__all__ = ["register"]

_THEN = "-"

# Options that get no flag: --format is the URL's extension (which does what f: does).
_NO_FLAG = frozenset({"format"})


@dataclass(frozen=True)
class _Flag:
    flag: str  # --min-width
    name: str  # the short name it writes: mw
    metavar: str  # WIDTH
    help: str


def _flags() -> tuple[_Flag, ...]:
    """A flag per declared processing option: ``--min-width WIDTH`` writes ``mw:WIDTH``.

    Each takes the option's arguments as "a:b:c" (trailing ones may be left out, as in URLs).
    """
    flags = []
    for spec in PROCESSING_OPTIONS:
        if spec.name in _NO_FLAG:
            continue
        short = min((spec.name, *spec.aliases), key=len)
        metavar = spec.grammar.doc().replace("%", "").upper()
        # argparse formats help with %: the docs' "%x" must not reach it as is.
        flags.append(_Flag("--" + spec.name.replace("_", "-"), short, metavar, spec.description.replace("%", "%%")))
    return tuple(flags)


class _AppendOption(argparse.Action):
    """Collect options in command-line order into ``namespace.options`` as ``(name, "a:b")``."""

    def __init__(self, option_strings: Sequence[str], dest: str, option_name: str | None = None,
                 **kwargs: Any) -> None:
        self.option_name = option_name
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        collected: list[tuple[str, str, str]] = list(getattr(namespace, self.dest, None) or [])
        if self.option_name == _THEN:
            collected.append((_THEN, "", ""))
        elif self.option_name is not None:
            collected.append((self.option_name, str(values), option_string or ""))
        else:  # -o NAME:ARGS: any name, including options this server does not declare
            name, _, args = str(values).partition(":")
            collected.append((name, args, ""))
        setattr(namespace, self.dest, collected)


def _env_first(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").split(",")[0].strip()
    return value or None


def _signature_size(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.signature_size is not None:
        size: int = args.signature_size
        return size
    raw = env.get("IMGPROXY_SIGNATURE_SIZE", "").strip()
    if not raw:
        return 32
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"IMGPROXY_SIGNATURE_SIZE must be an integer, got {raw!r}") from None


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def _cmd_sign(args: argparse.Namespace) -> int:
    env = os.environ
    key = args.key if args.key is not None else _env_first(env, "IMGPROXY_KEY")
    salt = args.salt if args.salt is not None else _env_first(env, "IMGPROXY_SALT")
    if not key or not salt:
        return _fail("imgproxy-py sign", "a key and a salt are needed: pass --key and --salt "
                     "or set IMGPROXY_KEY and IMGPROXY_SALT")
    try:
        signed = sign(args.path, key, salt, _signature_size(args, env))
    except ValueError as exc:
        return _fail("imgproxy-py sign", str(exc))
    print(args.base.rstrip("/") + signed)
    return 0


# The names /info also takes (cb, exp, pr, pg, ...): their flags work with --info too.
_INFO_NAMES = frozenset(name for spec in INFO_OPTIONS for name in (spec.name, *spec.aliases))


def _build_options(collected: Sequence[tuple[str, str, str]], info: bool) -> Options | InfoOptions:
    opts: Options | InfoOptions = InfoOptions() if info else Options()
    for name, raw, flag in collected:
        if name == _THEN:
            if isinstance(opts, InfoOptions):
                raise ValueError("--then (chained pipelines) does not apply to --info URLs")
            opts = opts.then()
            continue
        if info and flag and name not in _INFO_NAMES:
            raise ValueError(f"{flag} is a processing option; --info URLs take info options (-o NAME:ARGS)")
        opts = opts.add(name, *raw.split(":"))
    return opts


def _cmd_url(args: argparse.Namespace) -> int:
    env = os.environ
    prog = "imgproxy-py url"
    key = args.key if args.key is not None else _env_first(env, "IMGPROXY_KEY")
    salt = args.salt if args.salt is not None else _env_first(env, "IMGPROXY_SALT")
    source: SourceMode = "base64" if args.base64 else "encrypted" if args.encrypt else "plain"
    enc_key = args.encryption_key
    if enc_key is None:
        enc_key = _env_first(env, "IMGPROXY_SOURCE_URL_ENCRYPTION_KEY")
    try:
        if args.info and args.format:
            raise ValueError("--format (the extension) does not apply to --info URLs")
        if source == "encrypted" and not enc_key:
            raise ValueError("--encrypt needs --encryption-key or IMGPROXY_SOURCE_URL_ENCRYPTION_KEY")
        iv = bytes.fromhex(args.iv) if args.iv is not None else None
        parse_key_salt(key, salt)  # both or neither
        builder = ImgproxyURL(
            base=args.base, key=key, salt=salt, signature_size=_signature_size(args, env), source=source,
            encryption_key=enc_key if source == "encrypted" else None, chunk_size=args.chunk,
            unsigned_signature=args.unsigned_signature, escape_plain="always" if args.escape else "auto",
        )
        opts = _build_options(args.options or [], args.info)
        if isinstance(opts, InfoOptions):
            url = builder.info(opts, args.source_url, filename_in_base64=args.filename_in_base64,
                               encryption_iv=iv)
        else:
            url = builder.build(opts, args.source_url, extension=args.format,
                                filename_in_base64=args.filename_in_base64, encryption_iv=iv)
    except ValueError as exc:
        return _fail(prog, str(exc))
    print(url)
    return 0


def _add_key_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", metavar="HEX", help="hex-encoded key (default: first of IMGPROXY_KEY)")
    parser.add_argument("--salt", metavar="HEX", help="hex-encoded salt (default: first of IMGPROXY_SALT)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sign`` and ``url`` subcommands; each sets ``func(args) -> exit code``."""
    sign_p = subparsers.add_parser(
        "sign", help="sign an imgproxy path",
        description="Print /SIGNATURE/PATH for PATH (everything after the signature segment).",
    )
    sign_p.add_argument("path", metavar="PATH", help="e.g. /rs:fit:300:300/plain/http://example.com/a.jpg")
    _add_key_args(sign_p)
    sign_p.add_argument("--size", "--signature-size", dest="signature_size", type=int, metavar="N",
                        help="signature size in bytes, 1-32 (default: IMGPROXY_SIGNATURE_SIZE or 32)")
    sign_p.add_argument("--base", default="", metavar="URL", help="prepend this origin/prefix")
    sign_p.set_defaults(func=_cmd_sign)

    url_p = subparsers.add_parser(
        "url", help="build an imgproxy URL",
        description="Print the imgproxy URL for SOURCE_URL with the given options, in command-line "
                    "order. Signed when a key and salt are given (or set in the environment).",
    )
    url_p.add_argument("source_url", metavar="SOURCE_URL")
    opt_group = url_p.add_argument_group("processing options (repeatable, kept in order)")
    opt_group.add_argument("-o", "--option", dest="options", action=_AppendOption, metavar="NAME:ARGS",
                           help="any option, e.g. -o sa:1.5 or -o s:300:200")
    for flag in _flags():
        opt_group.add_argument(flag.flag, dest="options", action=_AppendOption, option_name=flag.name,
                               metavar=flag.metavar, help=flag.help)
    opt_group.add_argument("--then", dest="options", action=_AppendOption, option_name=_THEN, nargs=0,
                           help="start a chained pipeline (a '-' segment)")
    url_p.add_argument("--format", "--extension", dest="format", metavar="EXT",
                       help="output format, as the URL's extension (@EXT or .EXT)")
    mode = url_p.add_mutually_exclusive_group()
    mode.add_argument("--base64", action="store_true", help="Base64-encode the source URL")
    mode.add_argument("--encrypt", action="store_true", help="encrypt the source URL (/enc/)")
    url_p.add_argument("--chunk", type=int, metavar="N", help="split base64/encrypted sources every N chars")
    url_p.add_argument("--filename-in-base64", metavar="NAME",
                       help="append an SEO filename after a base64/encrypted source")
    url_p.add_argument("--escape", action="store_true", help="always percent-encode plain source URLs")
    _add_key_args(url_p)
    url_p.add_argument("--signature-size", dest="signature_size", type=int, metavar="N",
                       help="signature size in bytes, 1-32 (default: IMGPROXY_SIGNATURE_SIZE or 32)")
    url_p.add_argument("--encryption-key", metavar="HEX",
                       help="default: IMGPROXY_SOURCE_URL_ENCRYPTION_KEY")
    url_p.add_argument("--iv", metavar="HEX", help="16-byte IV (default: derived from the URL)")
    url_p.add_argument("--base", default="", metavar="URL", help="e.g. https://img.example.com")
    url_p.add_argument("--info", action="store_true", help="build an /info URL instead")
    url_p.add_argument("--unsigned-signature", default="insecure", metavar="STR",
                       help="placeholder for unsigned URLs (default: insecure)")
    url_p.set_defaults(func=_cmd_url, options=None)
