"""imgproxy's source URL encryption: AES-CBC, PKCS #7 padding, ``base64url(IV + ciphertext)``.

The key (``IMGPROXY_SOURCE_URL_ENCRYPTION_KEY``, hex-encoded) is 16, 24 or 32 bytes long,
which selects AES-128, AES-192 or AES-256.  The token carries its own 16-byte IV in
front of the ciphertext, so any IV works for decryption; the IV only matters to the
party that encrypts.

IV policy of :func:`encrypt_source_url` when no IV is given: the IV is derived
deterministically as ``HMAC-SHA256(iv_key, url)[:16]`` where ``iv_key`` is
``HMAC-SHA256(key, b"imgproxy_py source URL IV")`` (a separate key derived from the
encryption key, as imgproxy's documentation recommends in "IV generation").  The same
source URL therefore always gives the same token, so CDN caches keep working, while
different URLs get different IVs.  What this reveals is only whether two tokens hide the
same URL, which identical cacheable URLs reveal anyway.  Pass ``iv=os.urandom(16)`` for a
random IV instead (every URL then differs and defeats caching).

Example::

    >>> key = bytes.fromhex("1eb5b0e971ad7f45324c1bb15c947cb207c43152fa5c6c7f35c4f36e0c18e0f1")
    >>> token = encrypt_source_url("http://example.com/images/curiosity.jpg", key)
    >>> decrypt_source_url(token, key)
    'http://example.com/images/curiosity.jpg'

Always sign URLs that carry encrypted sources: an unsigned ``/enc/`` endpoint is a
padding oracle.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from imgproxy_py.errors import InvalidURLError

__all__ = [
    "BLOCK_SIZE",
    "KEY_SIZES",
    "decrypt_source_url",
    "derive_iv",
    "encrypt_source_url",
    "parse_encryption_key",
]

BLOCK_SIZE = 16
KEY_SIZES = (16, 24, 32)
_IV_KEY_LABEL = b"imgproxy_py source URL IV"
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]*")
_INVALID = "Invalid encrypted source URL"


def parse_encryption_key(key: bytes | str) -> bytes:
    """The raw key from raw bytes or a hex string; raises ``ValueError`` unless 16/24/32 bytes."""
    if isinstance(key, str):
        try:
            raw = bytes.fromhex(key.strip())
        except ValueError:
            raise ValueError("source URL encryption key must be hex-encoded") from None
    else:
        raw = bytes(key)
    if len(raw) not in KEY_SIZES:
        raise ValueError(
            f"source URL encryption key must be 16, 24 or 32 bytes long (AES-128/192/256), got {len(raw)}"
        )
    return raw


def derive_iv(url: str, key: bytes | str) -> bytes:
    """The deterministic 16-byte IV that :func:`encrypt_source_url` uses for ``url``."""
    raw_key = parse_encryption_key(key)
    iv_key = hmac.new(raw_key, _IV_KEY_LABEL, hashlib.sha256).digest()
    return hmac.new(iv_key, url.encode(), hashlib.sha256).digest()[:BLOCK_SIZE]


def encrypt_source_url(url: str, key: bytes | str, iv: bytes | None = None) -> str:
    """Encrypt ``url`` for an ``/enc/`` path segment: base64url (no padding) of IV + ciphertext.

    ``key`` is the raw key (or its hex string).  ``iv`` must be 16 bytes; when ``None``
    the deterministic IV of :func:`derive_iv` is used (see the module docstring).
    """
    raw_key = parse_encryption_key(key)
    if iv is None:
        iv = derive_iv(url, raw_key)
    if len(iv) != BLOCK_SIZE:
        raise ValueError(f"IV must be {BLOCK_SIZE} bytes long, got {len(iv)}")
    padder = padding.PKCS7(BLOCK_SIZE * 8).padder()
    padded = padder.update(url.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(raw_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return base64.urlsafe_b64encode(iv + ciphertext).rstrip(b"=").decode("ascii")


def decrypt_source_url(token: str, key: bytes | str) -> str:
    """Decrypt an ``/enc/`` token back to the source URL.

    ``/`` chunk separators and trailing ``=`` are ignored, as imgproxy does.  Any
    problem with the token (bad base64, wrong length, bad padding, not UTF-8) raises
    :class:`InvalidURLError` with one and the same message, so a client cannot tell them
    apart.  A bad *key* is a configuration error and raises ``ValueError``.
    """
    raw_key = parse_encryption_key(key)
    compact = token.replace("/", "").rstrip("=")
    if not _TOKEN_RE.fullmatch(compact):
        raise InvalidURLError(_INVALID)
    try:
        data = base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
    except (binascii.Error, ValueError):
        raise InvalidURLError(_INVALID) from None
    if len(data) < 2 * BLOCK_SIZE or len(data) % BLOCK_SIZE:
        raise InvalidURLError(_INVALID)
    decryptor = Cipher(algorithms.AES(raw_key), modes.CBC(data[:BLOCK_SIZE])).decryptor()
    padded = decryptor.update(data[BLOCK_SIZE:]) + decryptor.finalize()
    try:
        unpadder = padding.PKCS7(BLOCK_SIZE * 8).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except ValueError:  # bad padding, or UnicodeDecodeError (a ValueError subclass)
        raise InvalidURLError(_INVALID) from None
