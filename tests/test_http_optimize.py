"""Autoquality, max_bytes and PNG palettes through the real server."""

from __future__ import annotations

import httpx
import pyvips

from tests.conftest import decode
from tests.servers import AppServer, Origin


def test_autoquality_dssim_picks_a_quality_in_range(client: httpx.Client, server: AppServer, origin: Origin,
                                                    photo_jpeg: bytes) -> None:
    url = origin.add("/optimize/astronaut.jpg", photo_jpeg)
    low = client.get(f"{server.base}/unsafe/aq:dssim:0.03:40:95/plain/{url}")
    high = client.get(f"{server.base}/unsafe/aq:dssim:0.003:40:95/plain/{url}")
    assert low.status_code == high.status_code == 200
    assert len(low.content) < len(high.content)  # a looser target gives a smaller file
    fixed = client.get(f"{server.base}/unsafe/q:95/plain/{url}")
    assert len(high.content) <= len(fixed.content)


def test_autoquality_size_and_max_bytes(client: httpx.Client, server: AppServer, origin: Origin,
                                        photo_jpeg: bytes) -> None:
    url = origin.add("/optimize/astronaut-size.jpg", photo_jpeg)
    sized = client.get(f"{server.base}/unsafe/aq:size:20000:10:90/plain/{url}")
    assert len(sized.content) <= 20000
    capped = client.get(f"{server.base}/unsafe/mb:15000/plain/{url}")
    assert len(capped.content) <= 15000
    assert client.get(f"{server.base}/unsafe/aq:bogus/plain/{url}").status_code == 404


def test_palette_png_stays_palette(client: httpx.Client, server: AppServer) -> None:
    palette = client.get(f"{server.base}/unsafe/f:png/plain/local:///core/pil123p.png")
    img = decode(palette.content)
    assert img.get("palette") == 1 or img.get_typeof("palette-bit-depth")
    full = client.get(f"{server.base}/unsafe/f:png/plain/local:///core/hopper.png")
    assert not (decode(full.content).get_typeof("palette") and decode(full.content).get("palette"))
    quantized = client.get(f"{server.base}/unsafe/pngo:0:1:16/plain/local:///core/hopper.png")
    q = decode(quantized.content)
    assert q.get("palette") == 1 and q.get("bits-per-sample") <= 4
    assert len(quantized.content) < len(full.content)
    assert client.get(f"{server.base}/unsafe/pngo:0:1:999/plain/local:///core/hopper.png").status_code == 404


def test_png_interlace_option(client: httpx.Client, server: AppServer) -> None:
    interlaced = client.get(f"{server.base}/unsafe/pngo:1/plain/local:///core/hopper.png").content
    plain = client.get(f"{server.base}/unsafe/pngo:0/plain/local:///core/hopper.png").content
    assert interlaced[12:16] == b"IHDR" and interlaced[28] == 1  # the IHDR interlace method byte
    assert plain[28] == 0
    assert pyvips.Image.new_from_buffer(interlaced, "").width == 128


def test_autoquality_args_are_checked_against_the_servers_defaults(client: httpx.Client, server: AppServer,
                                                                    start_server) -> None:  # type: ignore[no-untyped-def]
    # "aq:dssim:::50" keeps the configured minimum and sets the maximum to 50.
    url = "/unsafe/aq:dssim:::50/plain/local:///core/hopper.jpg"
    relaxed = start_server(IMGPROXY_AUTOQUALITY_MIN="30", IMGPROXY_AUTOQUALITY_FORMAT_MIN="avif=30")
    assert client.get(relaxed.base + url).status_code == 200
    assert client.get(server.base + url).status_code == 404  # stock minimum 70 > 50
