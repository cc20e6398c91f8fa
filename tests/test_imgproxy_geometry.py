"""imgproxy's own result sizes (its ``processing_test.go``, tests/imgproxy_geometry_cases.py) on
its ``geometry.png``: every fit, fill and fill-down case, with enlarge, extend,
extend_aspect_ratio, rotate, padding and max_result_dimension, answered with imgproxy's size."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import decode
from tests.imgproxy_geometry_cases import CASES
from tests.servers import AppServer


@pytest.fixture(scope="module")
def server(start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(IMGPROXY_ALLOW_SECURITY_OPTIONS="true")  # for max_result_dimension


@pytest.mark.parametrize(("case", "options", "size"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_imgproxy_result_size(server: AppServer, client: httpx.Client, case: str, options: str,
                              size: tuple[int, int]) -> None:
    response = client.get(f"{server.base}/unsafe/{options}/plain/local:///imgproxy/geometry.png")
    assert response.status_code == 200, response.text
    img = decode(response.content)
    assert (img.width, img.height) == size
