"""imgproxy's own processing-handler tests (``integration_test/processing_handler_test.go``,
imgproxy v4 commit eef3b312, Apache-2.0) on its ``test1.png`` and ``test1.svg``: skip_processing
from the setting and the URL, SVG pass-through and rasterizing, a refused SVG result, ``raw``,
the source size limit and ``max_bytes``."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.servers import ASSETS, AppServer

PNG = (ASSETS / "imgproxy" / "test1.png").read_bytes()
TEST1_PNG = "plain/local:///imgproxy/test1.png"
TEST1_SVG = "plain/local:///imgproxy/test1.svg"


def get(server: AppServer, client: httpx.Client, path: str, **headers: str) -> httpx.Response:
    return client.get(f"{server.base}/unsafe/{path}", headers=headers)


@pytest.mark.parametrize(
    ("env", "path", "status", "same_bytes"),
    [
        ({"IMGPROXY_SKIP_PROCESSING_FORMATS": "png"}, f"rs:fill:4:4/{TEST1_PNG}", 200, True),  # SkipProcessingConfig
        ({}, f"rs:fill:4:4/skp:png/{TEST1_PNG}", 200, True),  # SkipProcessingPO
        ({"IMGPROXY_SKIP_PROCESSING_FORMATS": "png"}, f"rs:fill:4:4/{TEST1_PNG}@png", 200, True),  # ...SameFormat
        ({"IMGPROXY_SKIP_PROCESSING_FORMATS": "png"}, f"rs:fill:4:4/{TEST1_PNG}@jpg", 200, False),  # ...DifferentFormat
        ({}, f"raw:1/{TEST1_PNG}", 200, True),  # RawOption
        ({}, f"rs:fill:4:4/{TEST1_PNG}@svg", 422, False),  # ErrorSavingToSVG
        ({"IMGPROXY_MAX_SRC_FILE_SIZE": "1"}, f"rs:fill:4:4/{TEST1_PNG}", 422, False),  # MaxSrcFileSizeGlobal
    ],
)
def test_png_cases(start_server: Callable[..., AppServer], client: httpx.Client, env: dict[str, str], path: str,
                   status: int, same_bytes: bool) -> None:
    response = get(start_server(**env), client, path)
    assert response.status_code == status
    assert (response.content == PNG) is same_bytes


@pytest.mark.parametrize(
    ("env", "path", "headers", "content_type"),
    [
        ({}, f"rs:fill:4:4/{TEST1_SVG}", {}, "image/svg+xml"),  # SkipProcessingSVG
        ({}, f"rs:fill:4:4/{TEST1_SVG}@jpg", {}, "image/jpeg"),  # NotSkipProcessingSVGToJPG
        ({"IMGPROXY_ALWAYS_RASTERIZE_SVG": "true"}, f"rs:fill:40:40/{TEST1_SVG}", {}, "image/png"),
        ({"IMGPROXY_ALWAYS_RASTERIZE_SVG": "true", "IMGPROXY_ENFORCE_WEBP": "true"}, TEST1_SVG,
         {"Accept": "image/webp"}, "image/webp"),
        ({"IMGPROXY_ALWAYS_RASTERIZE_SVG": "false", "IMGPROXY_ENFORCE_WEBP": "true"}, TEST1_SVG, {},
         "image/svg+xml"),
        ({"IMGPROXY_ALWAYS_RASTERIZE_SVG": "true", "IMGPROXY_SKIP_PROCESSING_FORMATS": "svg"}, f"{TEST1_SVG}@svg",
         {}, "image/svg+xml"),
    ],
)
def test_svg_cases(start_server: Callable[..., AppServer], client: httpx.Client, env: dict[str, str], path: str,
                   headers: dict[str, str], content_type: str) -> None:
    response = get(start_server(**env), client, path, **headers)
    assert response.status_code == 200 and response.headers["content-type"] == content_type
    if content_type == "image/svg+xml":  # passed through sanitized, as imgproxy's sanitizer leaves it
        lowered = response.content.lower()
        for dangerous in (b"<script", b"onload", b"onclick", b"foreignobject", b"<form", b"data:application"):
            assert dangerous not in lowered, dangerous
        assert b"<rect" in response.content


def test_max_bytes(start_server: Callable[..., AppServer], client: httpx.Client) -> None:
    source = (ASSETS / "core" / "hopper.jpg").read_bytes()
    response = get(start_server(), client, f"mb:{len(source) // 2}/plain/local:///core/hopper.jpg@jpg")
    assert response.status_code == 200 and len(response.content) <= len(source) // 2
