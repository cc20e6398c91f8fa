"""A source is recognised from its first bytes while it downloads, as imgproxy finds the type:
a body that is no image (an HTML page, an endless stream, a gzip bomb) is refused after its first
bytes, 422 "Invalid source image", as a failed download (a fallback image stands in); ``raw``
takes any file."""

from __future__ import annotations

import gzip
import hashlib
import threading
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from imgproxy_py.imaging.sources import recognise_source
from imgproxy_py.sources.base import SizeLimit
from tests.conftest import asset, decode
from tests.servers import AppServer, Origin, OriginResponse

JPEG = asset("hopper.jpg").read_bytes()
PNG = asset("hopper.png").read_bytes()
MP4 = (Path(__file__).parent / "assets/media/bikes.mp4").read_bytes()
TINY_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
SVG_AFTER_COMMENT = b"<?xml version='1.0'?>\n<!-- " + b"x" * 20_000 + b" -->\n" + \
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20"/></svg>'


class Endless:
    """A route streaming ``chunk`` for ever (up to 256 MiB), counting what the client took before
    it hung up: ``gzip`` sends it compressed, as an origin that compresses anyway."""

    def __init__(self, chunk: bytes, gzipped: bool = False) -> None:
        self.chunk, self.gzipped = chunk, gzipped
        self.sent = 0
        self.done = threading.Event()

    def __call__(self, handler: BaseHTTPRequestHandler) -> OriginResponse:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        if self.gzipped:
            handler.send_header("Content-Encoding", "gzip")
        handler.end_headers()
        packer = zlib.compressobj(9, zlib.DEFLATED, 31) if self.gzipped else None
        try:
            for _ in range((256 << 20) // len(self.chunk)):
                data = packer.compress(self.chunk) if packer is not None else self.chunk
                if data:
                    handler.wfile.write(data)
                    self.sent += len(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.done.set()
        return OriginResponse(drop=True)


@pytest.mark.parametrize(("chunk", "gzipped"), [
    (b"<html><body>" + b"not an image " * 5000, False),
    (b"\x00" * 65536, False),
    (b"\x00" * 65536, True),  # 256 MiB of zeros in about 256 KiB
])
def test_a_body_that_is_no_image_is_refused_after_its_first_bytes(
        client: httpx.Client, server: AppServer, origin: Origin, chunk: bytes, gzipped: bool) -> None:
    stream = Endless(chunk, gzipped)
    origin.routes[f"/recognise/endless-{len(chunk)}-{gzipped}"] = stream
    url = origin.url(f"/recognise/endless-{len(chunk)}-{gzipped}")
    response = client.get(f"{server.base}/unsafe/w:10/plain/{url}")
    assert response.status_code == 422 and response.text == "Invalid source image"
    assert stream.done.wait(10)
    # What the socket buffers held when the download stopped: never the 256 MiB.
    assert stream.sent < 32 << 20


def test_short_files_of_every_kind_are_recognised_whole(client: httpx.Client, server: AppServer,
                                                       origin: Origin) -> None:
    gif = client.get(f"{server.base}/unsafe/f:png/plain/{origin.add('/recognise/tiny.gif', TINY_GIF)}")
    assert gif.status_code == 200 and decode(gif.content).width == 1
    svg = client.get(f"{server.base}/unsafe/f:png/plain/{origin.add('/recognise/late.svg', SVG_AFTER_COMMENT)}")
    assert svg.status_code == 200 and decode(svg.content).width == 40
    short = client.get(f"{server.base}/unsafe/w:10/plain/{origin.add('/recognise/short.txt', b'hello')}")
    assert short.status_code == 422 and short.text == "Invalid source image"
    empty = client.get(f"{server.base}/unsafe/w:10/plain/{origin.add('/recognise/empty.jpg', b'')}")
    assert empty.status_code == 422


def test_a_gzipped_image_still_renders(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    url = origin.add("/recognise/gzipped.jpg", gzip.compress(JPEG), headers={"Content-Encoding": "gzip"})
    response = client.get(f"{server.base}/unsafe/w:10/plain/{url}")
    assert response.status_code == 200 and decode(response.content).width == 10


def test_the_fallback_image_stands_in_for_a_source_that_is_no_image(
        client: httpx.Client, start_server: Callable[..., AppServer], origin: Origin) -> None:
    server = start_server(IMGPROXY_FALLBACK_IMAGE_PATH=str(asset("hopper.png")))
    url = origin.add("/recognise/page.jpg", b"<!doctype html><title>Not found</title>" + b" " * 400)
    response = client.get(f"{server.base}/unsafe/rs:fit:20:20/plain/{url}")
    assert response.status_code == 200 and decode(response.content).width == 20


def test_info_refuses_a_source_that_is_no_image(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    url = origin.add("/recognise/info.txt", b"plain text, " * 100)
    response = client.get(f"{server.base}/info/unsafe/plain/{url}")
    assert response.status_code == 422 and response.text == "Invalid source image"


def test_raw_takes_any_file(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    text = b"not an image at all\n" * 50
    url = origin.add("/recognise/notes.txt", text)
    assert client.get(f"{server.base}/unsafe/raw:1/plain/{url}").content == text
    # With a hashsum the file is read whole first (not streamed): still taken as it is.
    digest = hashlib.sha256(text).hexdigest()
    checked = client.get(f"{server.base}/unsafe/raw:1/hs:sha256:{digest}/plain/{url}")
    assert checked.status_code == 200 and checked.content == text


@pytest.mark.parametrize(("head", "complete", "verdict"), [
    (JPEG[:3], False, True),
    (PNG[:8], False, True),
    (TINY_GIF, True, True),
    (MP4[:256], False, True),  # a video container
    (b"FUJIFILMCCD-RAW 0201", False, True),  # a camera RAW with its own magic
    (b"\x00" * 255, False, None),  # the ISO media brands come within 256 bytes
    (b"\x00" * 256, False, False),
    (b"hello", True, False),
    (b"", True, False),
    (b"<html>" + b" " * 1000, False, None),  # could still hold an <svg> within the check bytes
    (b"<html>" + b" " * 40_000, False, False),
    (b"  \n" * 200, False, None),
    (SVG_AFTER_COMMENT[:30_000], False, True),
])
def test_recognise_source(head: bytes, complete: bool, verdict: bool | None) -> None:
    assert recognise_source(head, complete) is verdict


def test_the_size_limit_settles_once() -> None:
    """The first bytes are checked as they come, then no more kept."""
    seen: list[int] = []

    def recognise(head: bytes, complete: bool) -> bool | None:
        seen.append(len(head))
        return True if len(head) >= 10 else None

    limit = SizeLimit("http://x.test/a", 0, recognise)
    for _ in range(5):
        limit.add(b"12345")
    limit.finish(b"12345" * 5)
    assert seen == [5, 10]
