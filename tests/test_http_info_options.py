"""``/info`` reads its options with its own registry, through the real server."""

from __future__ import annotations

import httpx

from tests.servers import AppServer

SOURCE = "local:///core/hopper.jpg"


def test_info_options_are_not_processing_options(client: httpx.Client, server: AppServer) -> None:
    plain = client.get(f"{server.base}/info/unsafe/cb:x/plain/{SOURCE}")
    assert plain.status_code == 200 and {"width", "height", "format"} <= plain.json().keys()
    resize = client.get(f"{server.base}/info/unsafe/rs:fit:10:10/plain/{SOURCE}")
    assert resize.status_code == 404 and "Unknown info option: rs" in resize.text


def test_info_options_not_answered_yet_are_501(client: httpx.Client, server: AppServer) -> None:
    # What the Python builder's InfoOptions writes parses; what the answer lacks says so.
    response = client.get(f"{server.base}/info/unsafe/s:1/bh:4:3/plain/{SOURCE}")
    assert response.status_code == 501 and "size, blurhash" in response.text
    assert client.get(f"{server.base}/info/unsafe/bh:10:3/plain/{SOURCE}").status_code == 404
