"""``Cache-Control`` of a processed image (``server.responses.CachePolicy``), on the cases of
imgproxy's own response-writer tests (``server/responsewriter/writer_test.go``, imgproxy v4):
the TTL, passthrough of the origin's ``Cache-Control`` or ``Expires``, the fallback image's TTL
and the URL's ``expires``, in imgproxy's order."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest

from imgproxy_py.server.responses import CachePolicy
from tests.conftest import asset
from tests.servers import Origin

HOPPER_JPEG = asset("hopper.jpg").read_bytes()
NOW = 1_900_000_000.0
LATER = int(NOW) + 86_400 * 365  # imgproxy's test uses a date years ahead


def control(policy: CachePolicy, expires: int | None = None, **kwargs: object) -> str:
    return policy.headers(expires, now=NOW, **kwargs)["Cache-Control"]  # type: ignore[arg-type]


def test_imgproxy_writer_cases() -> None:
    # MinimalHeaders: no TTL
    assert control(CachePolicy(0)) == "no-cache"
    # PassthroughCacheControl
    assert control(CachePolicy(3600, passthrough=True),
                   origin_cache_control="no-cache, no-store, must-revalidate") == "no-cache, no-store, must-revalidate"
    # PassthroughCacheControlExpires: the origin's Expires as a max-age
    assert control(CachePolicy(3600, passthrough=True),
                   origin_expires=formatdate(LATER, usegmt=True)) == f"max-age={LATER - int(NOW)}, public"
    # PassthroughCacheControlExpiredInThePast: the TTL
    assert control(CachePolicy(3600, passthrough=True),
                   origin_expires=formatdate(NOW - 3600, usegmt=True)) == "max-age=3600, public"
    # SetMaxAgeTTL: a fallback image with its own TTL
    assert control(CachePolicy(3600, fallback_ttl=1), fallback=True) == "max-age=1, public"
    # SetMaxAgeExpires: the URL's expires under a longer TTL
    assert control(CachePolicy(2**31 - 1), LATER) == f"max-age={LATER - int(NOW)}, public"
    # SetMaxAgeTTLOutlivesExpires: expires sooner than the fallback TTL
    assert control(CachePolicy(2**31 - 1, fallback_ttl=600), int(NOW) + 10, fallback=True) == "max-age=10, public"
    # SetMaxAgeFromExpiresZero: no expires, the TTL
    assert control(CachePolicy(3600)) == "max-age=3600, public"


def test_expires_and_the_fallback_ttl_come_before_passthrough() -> None:
    policy = CachePolicy(3600, passthrough=True, fallback_ttl=60)
    assert control(policy, int(NOW) + 100, origin_cache_control="max-age=9") == "max-age=100, public"
    assert control(policy, fallback=True, origin_cache_control="max-age=9") == "max-age=60, public"
    # A fallback's Cache-Control is never the failed origin's.
    assert control(CachePolicy(3600, passthrough=True), fallback=True,
                   origin_cache_control="max-age=9") == "max-age=3600, public"


@pytest.mark.parametrize("status", [404, 500])
def test_an_error_status_is_not_kept_without_a_fallback_ttl(status: int) -> None:
    # imgproxy 4.0.6 sends no Cache-Control there; we send no-cache, as for every error.
    assert control(CachePolicy(3600), fallback=True, status=status) == "no-cache"
    assert control(CachePolicy(3600, fallback_ttl=30), fallback=True, status=status) == "max-age=30, public"


def test_expires_goes_with_every_max_age() -> None:
    headers = CachePolicy(3600).headers(None, now=NOW)
    assert headers["Expires"] == formatdate(NOW + 3600, usegmt=True)
    assert "Expires" not in CachePolicy(0).headers(None, now=NOW)
    passed = CachePolicy(3600, passthrough=True).headers(None, origin_cache_control="max-age=5",
                                                         origin_expires="Thu, 01 Jan 2032 00:00:00 GMT", now=NOW)
    assert passed == {"Cache-Control": "max-age=5", "Expires": "Thu, 01 Jan 2032 00:00:00 GMT"}


def test_cache_control_passthrough(client: httpx.Client, start_server, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    passing = start_server(IMGPROXY_CACHE_CONTROL_PASSTHROUGH="true", IMGPROXY_TTL="3600")
    controlled = origin.add("/delivery/controlled.jpg", HOPPER_JPEG, headers={"Cache-Control": "max-age=1234, public"})
    assert client.get(f"{passing.base}/unsafe/w:20/plain/{controlled}").headers["cache-control"] == (
        "max-age=1234, public")
    # An origin with only Expires: its remaining time as the max-age, as imgproxy does.
    later = formatdate(time.time() + 1239, usegmt=True)
    dated = origin.add("/delivery/dated.jpg", HOPPER_JPEG, headers={"Expires": later})
    max_age = int(client.get(f"{passing.base}/unsafe/w:20/plain/{dated}").headers["cache-control"]
                  .removeprefix("max-age=").split(",")[0])
    assert 1230 <= max_age <= 1239
    # The URL's expires comes first.
    soon = int(time.time()) + 100
    capped = client.get(f"{passing.base}/unsafe/w:20/exp:{soon}/plain/{controlled}").headers["cache-control"]
    assert capped.startswith("max-age=") and int(capped.removeprefix("max-age=").split(",")[0]) <= 100
