"""Checks every endpoint makes on a request before any work: the secret, the URL's signature,
the options' needs against what this installation has, and what the client's headers ask for."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from starlette.requests import Request

from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import FeatureUnavailableError, ForbiddenError, SignatureError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.go_numbers import DECIMAL
from imgproxy_py.options.model import GravityType, RequestOptions
from imgproxy_py.options.parser import ClientFeatures
from imgproxy_py.security.encryption import decrypt_source_url
from imgproxy_py.security.signature import verify_signature
from imgproxy_py.server.composition import Services
from imgproxy_py.server.workers import WorkerPool
from imgproxy_py.url.tokenizer import ParsedPath, URLGrammar, parse_path, split_signature


def raw_path(request: Request) -> str:
    """The path as the client sent it (still percent-encoded, after IMGPROXY_PATH_PREFIX):
    what signatures cover."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else request.url.path
    return path.split("?", 1)[0]


def check_secret(request: Request, secret: str) -> None:
    if not secret:
        return
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {secret}".encode()):
        raise ForbiddenError("missing or wrong Authorization header", public_message="Forbidden")


def parse_and_verify(services: Services, path: str, grammar: URLGrammar | None = None) -> ParsedPath:
    """``grammar``: the URL grammar when it is not the image endpoint's (``/info``'s presets-only mode).

    The signature is checked before anything else is parsed, as imgproxy checks it: a path with
    a bad signature is a 403 whatever else is wrong with it, and nobody learns more without a key."""
    config = services.config
    sec = config.security
    signature, rest = split_signature(path)
    if sec.signing_enabled:
        if not verify_signature(signature, "/" + rest, sec.key_salt_pairs, sec.signature_size,
                                sec.trusted_signatures):
            raise SignatureError(f"invalid signature for /{rest}")
    elif config.url.arguments_separator in signature:
        raise SignatureError("signature segment is missing",
                             public_message="Invalid signature: the signature segment is missing")
    key = sec.source_url_encryption_key
    return parse_path(path, grammar or config.url, (lambda c: decrypt_source_url(c, key)) if key else None)


T = TypeVar("T")
# A path longer than this (bytes) is parsed in a worker slot, not on the event loop: parsing costs
# up to 2 µs a byte (a 300 KB URL of 42,000 chained pipelines held every request of its process
# for 1.1 s, 0.5 s since options are built without their __init__), where a page's URLs are a few
# hundred bytes.
LONG_PATH = 4096


async def parse_off_the_loop_when_long(workers: WorkerPool, deadline: Deadline, path: str,
                                       parse: Callable[..., T], *args: object) -> T:
    """``parse(*args)`` for the request of ``path``: at once when the path is short, else in a
    worker slot (bounded as images are, so a flood of long URLs queues and gets 429)."""
    if len(path) <= LONG_PATH:
        return parse(*args)
    return await workers.run(deadline, parse, *args, span=None)


def needs_detection(options: RequestOptions) -> bool:
    out = options.output
    if out.detect_objects or out.representative_face:
        return True
    object_gravities = (GravityType.OBJECTS, GravityType.OBJECTS_WEIGHTED)
    for po in options.pipelines:
        gravities = (po.gravity, po.crop.gravity, po.objects_position)
        if any(g is not None and g.type in object_gravities for g in gravities):
            return True
        if (po.crop_objects or po.blur_detections or po.pixelate_detections
                or po.draw_detections is not None):
            return True
    return False


def require_features(options: RequestOptions, services: Services) -> None:
    """A request for a part this installation lacks is refused, never quietly served without it."""
    # Why detection can't run here (its extra is not installed), or "" when it can or is off by choice.
    missing = services.config.detection.unavailable
    if missing and needs_detection(options):
        raise FeatureUnavailableError(missing)


def client_features(request: Request, services: Services) -> ClientFeatures:
    accept = request.headers.get("accept", "")
    dpr, width = 0.0, 0
    if services.config.server.enable_client_hints:
        dpr, width = client_hints(request.headers)
    return ClientFeatures(accepts_webp=ImageFormat.WEBP.mime in accept, accepts_avif=ImageFormat.AVIF.mime in accept,
                          accepts_jxl=ImageFormat.JXL.mime in accept, dpr=dpr, width=width)


# imgproxy's bounds for the client hints: a DPR above 8 is ignored, a width is a whole number.
MAX_CLIENT_HINT_DPR = 8.0
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")  # an int64, as Go's Atoi reads it


def client_hints(headers: Mapping[str, str]) -> tuple[float, int]:
    """(DPR, width) from ``Sec-CH-DPR``/``DPR`` and ``Sec-CH-Width``/``Width``, the first usable
    of each pair as imgproxy reads them; 0 where none is."""
    dpr = 0.0
    for name in ("sec-ch-dpr", "dpr"):
        raw = headers.get(name) or ""
        if DECIMAL.fullmatch(raw) and 0 < float(raw) <= MAX_CLIENT_HINT_DPR:
            dpr = float(raw)
            break
    width = 0
    for name in ("sec-ch-width", "width"):
        raw = headers.get(name) or ""
        if _WHOLE_NUMBER.fullmatch(raw) and int(raw) > 0:
            width = int(raw)
            break
    return dpr, width
