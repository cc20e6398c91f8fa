"""A short fuzz through the real server: hostile URLs get documented statuses, and it keeps working.

The in-process fuzz (test_fuzz_options.py) runs many more examples; this one checks what only
the server adds: the raw path as a client sends it, source fetching, headers, worker slots.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings

from tests.conftest import asset, decode
from tests.fuzz_urls import ALLOWED_SOURCES, ENCRYPTION_KEY, PRESETS, address_space_limit, image_path
from tests.servers import AppServer

DOCUMENTED_STATUSES = frozenset({200, 403, 404, 422, 429, 503, 504})
EXAMPLES = int(os.environ.get("FUZZ_HTTP_EXAMPLES", "150"))
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# What clients leave unescaped in a path (RFC 3986 pchar and "/"), plus "%" of valid escapes.
_SAFE = "/:@!$&'()*+,;=-._~%"


@pytest.fixture(scope="module", autouse=True)
def bounded_memory() -> Iterator[None]:
    with address_space_limit(6 << 30):
        yield


@pytest.fixture(scope="module")
def fuzz_server(start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(
        IMGPROXY_SOURCE_URL_ENCRYPTION_KEY=ENCRYPTION_KEY,
        IMGPROXY_WATERMARK_PATH=str(asset("p_trns_single.png")),
        IMGPROXY_PRESETS=PRESETS,
        IMGPROXY_MAX_ANIMATION_FRAMES="4",
        # Sources that fail before any network: no DNS lookups for random host names.
        IMGPROXY_ALLOWED_SOURCES=ALLOWED_SOURCES,
        IMGPROXY_TIMEOUT="3",
    )


def request_target(path: str) -> str:
    """The path as a client puts it on the wire: UTF-8, percent-escaped, stray "%" escaped too."""
    return quote(_STRAY_PERCENT.sub("%25", path), safe=_SAFE)


def test_any_url_over_http_gets_a_documented_status(fuzz_server: AppServer, client: httpx.Client) -> None:
    statuses: collections.Counter[int] = collections.Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(path=image_path())
    def send(path: str) -> None:
        url = fuzz_server.base + request_target(path)
        assume(len(url) < 60_000)  # httpx's own limit is 64 KiB
        response = client.get(url)
        statuses[response.status_code] += 1
        assert response.status_code in DOCUMENTED_STATUSES, (response.status_code, response.text[:200])
        for value in response.headers.values():
            assert "\r" not in value and "\n" not in value

    send()
    assert statuses[200] > 0, statuses  # the fuzz reached the pipeline
    response = client.get(f"{fuzz_server.base}/unsafe/rs:fit:50:40/plain/local:///core/hopper.jpg")
    assert response.status_code == 200
    img = decode(response.content)
    assert (img.width, img.height) == (40, 40)
    assert fuzz_server.services.workers.active == 0


def test_a_huge_padded_palette_png_is_refused_or_timed_out(fuzz_server: AppServer, client: httpx.Client) -> None:
    """Found by this fuzz: padding a palette PNG to 220 megapixels made the palette's colour count
    allocate 6.6 GB (a 500).  Now it counts in strips under the deadline."""
    source = "bG9jYWw6Ly8vY29yZS9wX3RybnNfc2luZ2xlLnBuZw"  # local:///core/p_trns_single.png
    response = client.get(f"{fuzz_server.base}/insecure/pd:298411:153/{source}")
    assert response.status_code in (422, 503), response.status_code
    assert client.get(f"{fuzz_server.base}/unsafe/rs:fit:50:40/plain/local:///core/hopper.jpg").status_code == 200
