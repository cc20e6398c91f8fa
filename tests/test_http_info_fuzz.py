"""A short fuzz of ``/info`` through the real server: its own options (names read from its
registry), hostile arguments and sources get documented statuses, and the server keeps working.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterator

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from imgproxy_py.options.info import INFO_OPTIONS
from tests.conftest import asset
from tests.fuzz_urls import ALLOWED_SOURCES, ENCRYPTION_KEY, _text, address_space_limit, arguments, often, source_part
from tests.servers import AppServer
from tests.test_http_fuzz import DOCUMENTED_STATUSES, request_target

EXAMPLES = int(os.environ.get("FUZZ_INFO_EXAMPLES", "100"))
# And 501: classify without IMGPROXY_CLASSIFICATION_NET says what is missing, as a missing extra does.
INFO_STATUSES = DOCUMENTED_STATUSES | {501}
INFO_SPELLINGS = tuple((option.name, *option.aliases) for option in INFO_OPTIONS)


@st.composite
def info_segment(draw: st.DrawFn) -> str:
    name = draw(often(st.sampled_from(INFO_SPELLINGS).flatmap(st.sampled_from), _text, 15))
    return name + ":" + ":".join(draw(arguments()))


@st.composite
def info_path(draw: st.DrawFn) -> str:
    signature = draw(often(st.just("unsafe"), _text, 20))
    segments = draw(often(st.lists(info_segment(), max_size=5), st.lists(info_segment(), max_size=30), 6))
    return "/" + "/".join(["info", signature, *segments, draw(source_part())])


@pytest.fixture(scope="module", autouse=True)
def bounded_memory() -> Iterator[None]:
    with address_space_limit(6 << 30):
        yield


@pytest.fixture(scope="module")
def info_server(start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(
        IMGPROXY_SOURCE_URL_ENCRYPTION_KEY=ENCRYPTION_KEY,
        IMGPROXY_WATERMARK_PATH=str(asset("p_trns_single.png")),
        IMGPROXY_ALLOWED_SOURCES=ALLOWED_SOURCES,
        IMGPROXY_MAX_ANIMATION_FRAMES="4",
        IMGPROXY_TIMEOUT="3",
    )


def test_any_info_url_gets_a_documented_status(info_server: AppServer, client: httpx.Client) -> None:
    statuses: collections.Counter[int] = collections.Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(path=info_path())
    def send(path: str) -> None:
        url = info_server.base + request_target(path)
        assume(len(url) < 60_000)  # httpx's own limit is 64 KiB
        response = client.get(url)
        statuses[response.status_code] += 1
        assert response.status_code in INFO_STATUSES, (response.status_code, response.text[:200])
        if response.status_code == 200:
            assert isinstance(response.json(), dict)

    send()
    assert statuses[200] > 0, statuses  # the fuzz reached the info handlers
    response = client.get(f"{info_server.base}/info/unsafe/plain/local:///core/hopper.jpg")
    assert response.status_code == 200 and response.json()["width"] > 0
    assert info_server.services.workers.active == 0
