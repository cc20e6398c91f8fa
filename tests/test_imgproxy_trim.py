"""imgproxy's own trim tests (``processing/trim_test.go``, imgproxy v4 commit eef3b312,
Apache-2.0) on its ``trim1.png`` (grey, 350x250), ``trim2.png`` (RGB) and ``trim3.png`` (RGBA):
threshold, colour, equal_hor and equal_ver, answered with imgproxy's sizes."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import decode
from tests.servers import AppServer

# (source, trim arguments as imgproxy's test builds them, the size imgproxy answers with)
CASES = (
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


@pytest.mark.parametrize(("source", "args", "size"), CASES, ids=[f"{c[0]}-trim:{c[1]}" for c in CASES])
def test_imgproxy_trim_size(server: AppServer, client: httpx.Client, source: str, args: str,
                            size: tuple[int, int]) -> None:
    response = client.get(f"{server.base}/unsafe/trim:{args}/plain/local:///imgproxy/{source}.png")
    assert response.status_code == 200, response.text
    img = decode(response.content)
    assert (img.width, img.height) == size
