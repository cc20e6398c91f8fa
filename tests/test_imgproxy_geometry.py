"""imgproxy's own result sizes, answered with imgproxy's size: its ``processing_test.go``
(tests/imgproxy_geometry_cases.py) on its ``geometry.png`` (every fit, fill and fill-down case, with
enlarge, extend, extend_aspect_ratio, rotate, padding and max_result_dimension), and its
``trim_test.go`` on its ``trim1.png`` (grey, 350x250), ``trim2.png`` (RGB) and ``trim3.png``
(RGBA): threshold, colour, equal_hor and equal_ver (imgproxy v4 commit eef3b312, Apache-2.0)."""

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


# (source, trim arguments as imgproxy's test builds them, the size imgproxy answers with)
TRIM_CASES = (
    ("trim1", "5", (320, 220)),
    ("trim1", "100", (290, 190)),
    ("trim1", "150", (260, 160)),
    ("trim1", "200", (230, 130)),
    ("trim1", "220", (200, 100)),
    ("trim1", "0:ff0000", (350, 250)),
    ("trim1", "5::1", (330, 220)),
    ("trim1", "5:::1", (320, 230)),
    ("trim1", "5::1:1", (330, 230)),
    ("trim2", "1", (200, 170)),
    ("trim2", "1:ff0000", (200, 170)),
    ("trim2", "1:0000ff", (200, 130)),
    ("trim2", "1:ffffff", (200, 200)),
    ("trim3", "1:ff00ff", (200, 130)),
)


def result_size(server: AppServer, client: httpx.Client, options: str, source: str) -> tuple[int, int]:
    response = client.get(f"{server.base}/unsafe/{options}/plain/local:///imgproxy/{source}.png")
    assert response.status_code == 200, response.text
    img = decode(response.content)
    return img.width, img.height


@pytest.mark.parametrize(("case", "options", "size"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_imgproxy_result_size(server: AppServer, client: httpx.Client, case: str, options: str,
                              size: tuple[int, int]) -> None:
    assert result_size(server, client, options, "geometry") == size


@pytest.mark.parametrize(("source", "args", "size"), TRIM_CASES, ids=[f"{c[0]}-trim:{c[1]}" for c in TRIM_CASES])
def test_imgproxy_trim_size(server: AppServer, client: httpx.Client, source: str, args: str,
                            size: tuple[int, int]) -> None:
    assert result_size(server, client, f"trim:{args}", source) == size
