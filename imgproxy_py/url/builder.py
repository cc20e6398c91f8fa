"""Signing and whole URLs: keys, the signature, source URL forms, :class:`ImgproxyURL`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias
from urllib.parse import quote

from imgproxy_py.security.encryption import encrypt_source_url, parse_encryption_key
from imgproxy_py.security.signature import sign_path
from imgproxy_py.url.arguments import EXTENSION_RE, b64
from imgproxy_py.url.chain import OptionChain
from imgproxy_py.url.info import InfoOptions
from imgproxy_py.url.options import Options

SourceMode = Literal["plain", "base64", "encrypted"]
EscapeMode = Literal["auto", "always"]
KeyLike: TypeAlias = str | bytes | Sequence[str | bytes] | None

# A plain source URL made only of these goes into the path unescaped.
_PLAIN_SAFE_RE = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:/\[\]-]*")


def _parse_secret(value: KeyLike, what: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value) or None
    if isinstance(value, str):
        first = value.split(",")[0].strip()
        if not first:
            return None
        try:
            return bytes.fromhex(first)
        except ValueError:
            raise ValueError(f"{what} must be hex-encoded") from None
    items = list(value)
    return _parse_secret(items[0], what) if items else None


def parse_key_salt(key: KeyLike, salt: KeyLike) -> tuple[bytes, bytes] | None:
    """The key/salt pair that signs: raw ``bytes``, or hex strings (the first of a comma list,
    as in ``IMGPROXY_KEY``), or sequences of those (the first one signs).

    ``None`` when neither is given; ``ValueError`` when only one is.
    """
    raw_key = _parse_secret(key, "key")
    raw_salt = _parse_secret(salt, "salt")
    if raw_key is None and raw_salt is None:
        return None
    if raw_key is None or raw_salt is None:
        raise ValueError("signing needs both a key and a salt")
    return raw_key, raw_salt


def _check_signature_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 32:
        raise ValueError(f"signature size must be between 1 and 32, got {size!r}")
    return size


def sign(path: str, key: KeyLike, salt: KeyLike, size: int = 32) -> str:
    """``/%signature/%path``: sign a path (everything after the signature segment).

    >>> sign("/rs:fit:300:300/plain/http://img.example.com/pretty/image.jpg",
    ...      "943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881",
    ...      "520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5")
    '/m3k5QADfcKPDj-SDI2AIogZbC3FlAXszuwhtWXYqavc/rs:fit:300:300/plain/http://img.example.com/pretty/image.jpg'
    """
    pair = parse_key_salt(key, salt)
    if pair is None:
        raise ValueError("signing needs a key and a salt")
    if not path.startswith("/"):
        path = "/" + path
    return f"/{sign_path(pair[0], pair[1], path, _check_signature_size(size))}{path}"


def escape_plain_url(url: str, mode: EscapeMode = "auto") -> str:
    """A source URL for ``/plain/``: unchanged when safe, else wholly percent-encoded.

    >>> escape_plain_url("https://images.test/image.jpg?version=123")
    'https%3A%2F%2Fimages.test%2Fimage.jpg%3Fversion%3D123'
    """
    if mode not in ("auto", "always"):
        raise ValueError(f"escape mode must be 'auto' or 'always', got {mode!r}")
    if mode == "always" or not _PLAIN_SAFE_RE.fullmatch(url):
        return quote(url, safe="")
    return url


def _chunk(text: str, size: int | None) -> str:
    if not size:
        return text
    return "/".join(text[i:i + size] for i in range(0, len(text), size))


@dataclass(frozen=True)
class ImgproxyURL:
    """A reusable URL builder for one imgproxy server.

    ``key``/``salt``: hex strings (first of a comma list), raw bytes, or sequences of
    those (the first pair signs); both ``None`` gives unsigned URLs.  ``base`` is the
    server's origin plus any path prefix (``https://img.example.com`` or ``""`` for just
    the path).  ``source`` picks the source URL form; ``encrypted`` needs
    ``encryption_key`` (hex or raw bytes).
    """

    base: str = ""
    key: KeyLike = field(default=None, repr=False)
    salt: KeyLike = field(default=None, repr=False)
    signature_size: int = 32
    source: SourceMode = "plain"
    encryption_key: bytes | str | None = field(default=None, repr=False)
    chunk_size: int | None = None
    unsigned_signature: str = "insecure"
    escape_plain: EscapeMode = "auto"
    full_names: bool = False
    _pair: tuple[bytes, bytes] | None = field(init=False, repr=False, compare=False, default=None)
    _enc_key: bytes | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pair", parse_key_salt(self.key, self.salt))
        _check_signature_size(self.signature_size)
        if self.source not in ("plain", "base64", "encrypted"):
            raise ValueError(f"source must be 'plain', 'base64' or 'encrypted', got {self.source!r}")
        if self.encryption_key is not None and self.encryption_key != "":
            object.__setattr__(self, "_enc_key", parse_encryption_key(self.encryption_key))
        if self.chunk_size is not None and (isinstance(self.chunk_size, bool) or self.chunk_size < 1):
            raise ValueError(f"chunk size must be a positive integer, got {self.chunk_size!r}")
        if not self.unsigned_signature or "/" in self.unsigned_signature:
            raise ValueError("unsigned_signature must be a non-empty string without '/'")
        if self.escape_plain not in ("auto", "always"):
            raise ValueError(f"escape_plain must be 'auto' or 'always', got {self.escape_plain!r}")

    @property
    def signed(self) -> bool:
        return self._pair is not None

    def sign_path(self, path: str) -> str:
        """``/%signature%path`` (or the unsigned placeholder) for a path starting with ``/``."""
        if self._pair is None:
            return f"/{self.unsigned_signature}{path}"
        return f"/{sign_path(self._pair[0], self._pair[1], path, self.signature_size)}{path}"

    def _source_segment(self, source_url: str, source: SourceMode, extension: str | None,
                        filename: str | None, iv: bytes | None) -> str:
        if extension == "":
            extension = None
        if extension is not None and not EXTENSION_RE.fullmatch(extension):
            raise ValueError(f"invalid extension {extension!r}")
        if source == "plain":
            if filename is not None:
                raise ValueError("filename_in_base64 needs a base64 or encrypted source URL")
            escaped = escape_plain_url(source_url, self.escape_plain)
            return f"plain/{escaped}" + (f"@{extension}" if extension else "")
        if source == "base64":
            body = _chunk(b64(source_url), self.chunk_size)
        elif source == "encrypted":
            if self._enc_key is None:
                raise ValueError("encrypted source URLs need an encryption_key")
            body = "enc/" + _chunk(encrypt_source_url(source_url, self._enc_key, iv), self.chunk_size)
        else:
            raise ValueError(f"source must be 'plain', 'base64' or 'encrypted', got {source!r}")
        if extension:
            body += f".{extension}"
        if filename is not None:
            if not filename:
                raise ValueError("filename_in_base64 must not be empty")
            body += "/" + quote(filename, safe="")
        return body

    def _path(self, options: OptionChain | str | None, source_url: str, source: SourceMode | None,
              extension: str | None, filename: str | None, iv: bytes | None) -> str:
        if isinstance(options, str):
            opts = "".join("/" + s for s in options.strip("/").split("/") if s)
        elif options is None:
            opts = ""
        else:
            opts = options.to_path(full_names=self.full_names)
        src = self._source_segment(source_url, source or self.source, extension, filename, iv)
        return self.sign_path(f"{opts}/{src}")

    def build(self, options: Options | str | None, source_url: str, *, extension: str | None = None,
              source: SourceMode | None = None, filename_in_base64: str | None = None,
              encryption_iv: bytes | None = None) -> str:
        """The processing URL.  ``options`` may also be a ready ``"rs:fit:300:0/q:80"`` string.

        ``filename_in_base64`` appends an SEO filename segment after a base64 or encrypted
        source (for servers with ``IMGPROXY_BASE64_URL_INCLUDES_FILENAME``).
        """
        path = self._path(options, source_url, source, extension, filename_in_base64, encryption_iv)
        return self.base.rstrip("/") + path

    def info(self, options: InfoOptions | str | None, source_url: str, *, source: SourceMode | None = None,
             filename_in_base64: str | None = None, encryption_iv: bytes | None = None) -> str:
        """The ``/info`` URL (the signature covers the path after it, as for processing URLs)."""
        path = self._path(options, source_url, source, None, filename_in_base64, encryption_iv)
        return self.base.rstrip("/") + "/info" + path


def build_url(options: Options | str | None, source_url: str, *, key: KeyLike = None,
              salt: KeyLike = None, signature_size: int = 32, source: SourceMode = "plain",
              encryption_key: bytes | str | None = None, encryption_iv: bytes | None = None,
              extension: str | None = None, base: str = "", filename_in_base64: str | None = None,
              chunk_size: int | None = None, unsigned_signature: str = "insecure",
              escape_plain: EscapeMode = "auto", full_names: bool = False) -> str:
    """One processing URL; see :class:`ImgproxyURL` for the parameters.

    >>> build_url(Options().resize("fit", 300, 300), "http://img.example.com/pretty/image.jpg")
    '/insecure/rs:fit:300:300/plain/http://img.example.com/pretty/image.jpg'
    """
    builder = ImgproxyURL(base=base, key=key, salt=salt, signature_size=signature_size, source=source,
                          encryption_key=encryption_key, chunk_size=chunk_size,
                          unsigned_signature=unsigned_signature, escape_plain=escape_plain,
                          full_names=full_names)
    return builder.build(options, source_url, extension=extension, filename_in_base64=filename_in_base64,
                         encryption_iv=encryption_iv)


def build_info_url(options: InfoOptions | str | None, source_url: str, *, key: KeyLike = None,
                   salt: KeyLike = None, signature_size: int = 32, source: SourceMode = "plain",
                   encryption_key: bytes | str | None = None, encryption_iv: bytes | None = None,
                   base: str = "", filename_in_base64: str | None = None, chunk_size: int | None = None,
                   unsigned_signature: str = "insecure", escape_plain: EscapeMode = "auto",
                   full_names: bool = False) -> str:
    """One ``/info`` URL; see :class:`ImgproxyURL` for the parameters."""
    builder = ImgproxyURL(base=base, key=key, salt=salt, signature_size=signature_size, source=source,
                          encryption_key=encryption_key, chunk_size=chunk_size,
                          unsigned_signature=unsigned_signature, escape_plain=escape_plain,
                          full_names=full_names)
    return builder.info(options, source_url, filename_in_base64=filename_in_base64,
                        encryption_iv=encryption_iv)
