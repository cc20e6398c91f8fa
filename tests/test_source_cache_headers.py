"""The source cache (IMGPROXY_SOURCE_CACHE_SIZE_MB) and the origin's freshness headers."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import httpx

from tests.conftest import asset
from tests.servers import Origin, OriginResponse

HOPPER = asset("hopper.jpg").read_bytes()


def test_a_revalidated_cached_source_takes_the_304s_expires(client: httpx.Client, start_server,  # type: ignore[no-untyped-def]
                                                          origin: Origin) -> None:
    passing = start_server(IMGPROXY_SOURCE_CACHE_SIZE_MB="16", IMGPROXY_CACHE_CONTROL_PASSTHROUGH="true")
    first_expiry, later_expiry = "Wed, 01 Jan 2031 00:00:00 GMT", "Thu, 01 Jan 2032 00:00:00 GMT"

    def route(handler: BaseHTTPRequestHandler) -> OriginResponse:
        if handler.headers.get("If-None-Match") == '"e1"':  # still the same: until later now
            return OriginResponse(304, b"", {"ETag": '"e1"', "Cache-Control": "max-age=0", "Expires": later_expiry})
        return OriginResponse(200, HOPPER, {"ETag": '"e1"', "Cache-Control": "max-age=0", "Expires": first_expiry})

    origin.routes["/delivery/expiring.jpg"] = route
    source = origin.url("/delivery/expiring.jpg")
    first = client.get(f"{passing.base}/unsafe/w:30/plain/{source}")
    second = client.get(f"{passing.base}/unsafe/w:31/plain/{source}")
    assert first.status_code == second.status_code == 200
    assert first.headers["expires"] == first_expiry and second.headers["expires"] == later_expiry
    assert [h.get("If-None-Match") for p, h in origin.requests if p == "/delivery/expiring.jpg"] == [None, '"e1"']
