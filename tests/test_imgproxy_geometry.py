"""imgproxy's own result sizes, answered with imgproxy's size: its ``processing_test.go``
(tests/imgproxy_geometry_cases.py) on its ``geometry.png`` (every fit, fill and fill-down case, with
enlarge, extend, extend_aspect_ratio, rotate, padding and max_result_dimension), and its
``trim_test.go`` on its ``trim1.png`` (grey, 350x250), ``trim2.png`` (RGB) and ``trim3.png``
(RGBA): threshold, colour, equal_hor and equal_ver, and the DPR and offset cases of its
``extend_test.go``, ``padding_test.go`` and ``crop_test.go`` (imgproxy v4 commit eef3b312,
Apache-2.0)."""

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


# On geometry.png (200x100): extend, extend_aspect_ratio, padding and fill gravity under a DPR
# (a DPR the image can't grow to leaves the extended canvas at its CSS size).
DPR_CASES = (
    ("w:500/h:500/ex:1:ce", (500, 500)),
    ("w:500/h:500/ex:1:no::5", (500, 500)),
    ("w:500/h:500/ex:1:no::5/dpr:0.5", (250, 250)),
    ("w:500/h:500/ex:1:no::5/dpr:2", (500, 500)),
    ("w:500/h:500/ex:1:ea:5/dpr:2", (500, 500)),
    ("w:300/h:600/exar:1:ce", (200, 400)),
    ("w:300/h:600/exar:1:no::5/dpr:0.5", (150, 300)),
    ("w:300/h:600/exar:1:no::5/dpr:2", (200, 400)),
    ("dpr:0.5/pd:20:30:40:10/bg:f00/el:1", (120, 80)),
    ("dpr:1/pd:20:30:40:10/bg:f00/el:1", (240, 160)),
    ("dpr:2/pd:20:30:40:10/bg:f00/el:1", (480, 320)),
    ("rs:fill:100:26/g:no/dpr:2", (200, 52)),
    ("rs:fill:100:26/g:no::5/dpr:0.5", (50, 13)),
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


@pytest.mark.parametrize(("options", "size"), DPR_CASES, ids=[c[0] for c in DPR_CASES])
def test_imgproxy_dpr_size(server: AppServer, client: httpx.Client, options: str, size: tuple[int, int]) -> None:
    assert result_size(server, client, options, "geometry") == size
