"""Bearer tokens for the media routes, signed with itsdangerous.

A token carries an optional scope (one ``<hash>``) and is valid for ``max_age`` seconds
after it was minted.  ``imgproxy-py token`` mints them.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from imgproxy_py.errors import ImgproxyError

_SALT = "imgproxy_py.media"


class TokenError(ImgproxyError):
    status = 401
    default_public_message = "Unauthorized"


@dataclass(frozen=True)
class TokenAuthority:
    secret: str
    max_age: int = 86400

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=_SALT)

    def mint(self, scope: str = "") -> str:
        return str(self._serializer().dumps({"scope": scope}))

    def check(self, authorization: str | None, key: str) -> None:
        """Raise TokenError unless ``authorization`` is a valid bearer token for ``key``."""
        if not authorization or not authorization.startswith("Bearer "):
            raise TokenError("missing bearer token", public_message="Unauthorized: a bearer token is required")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            payload = self._serializer().loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise TokenError("expired token", public_message="Unauthorized: the token has expired") from None
        except BadSignature:
            raise TokenError("bad token", public_message="Unauthorized: invalid token") from None
        scope = payload.get("scope", "") if isinstance(payload, dict) else ""
        if scope and scope != key:
            raise TokenError("token scoped to another file", public_message="Unauthorized: token not valid here")
