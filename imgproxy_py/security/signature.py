"""imgproxy URL signatures: ``base64url_nopad(HMAC-SHA256(key, salt + path))``.

``path`` is everything after the signature segment, including its leading ``/``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence


def sign_path(key: bytes, salt: bytes, path: str, size: int = 32) -> str:
    """The signature segment for ``path`` (which must start with ``/``)."""
    digest = hmac.new(key, salt + path.encode(), hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify_signature(
    signature: str,
    path: str,
    pairs: Sequence[tuple[bytes, bytes]],
    size: int = 32,
    trusted: Sequence[str] = (),
) -> bool:
    """True if ``signature`` matches ``path`` under any key/salt pair (or is trusted).

    Compared in constant time so that timing does not leak how much of a guess was right.
    """
    if any(hmac.compare_digest(signature, t) for t in trusted):
        return True
    try:
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (ValueError, TypeError):
        return False
    ok = False
    for key, salt in pairs:
        expected = hmac.new(key, salt + path.encode(), hashlib.sha256).digest()[:size]
        # No early exit: every pair is compared so that timing says nothing about which matched.
        ok |= hmac.compare_digest(given, expected)
    return ok
