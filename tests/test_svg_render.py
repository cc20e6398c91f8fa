"""SVG pixels rendered in worker processes that a deadline can kill (``imaging.codecs.svg_render``).

librsvg renders without a stop: the SVG below (one ``feMorphology`` over 2000x2000 px) takes
about 14 s in a process of ours, a worker slot held past ``IMGPROXY_TIMEOUT``.  Rendered apart, the
request gets its 503 at the deadline and the slot takes the next request at once, on every path
that reads an SVG's pixels.
"""

from __future__ import annotations

import base64
import threading
import time

import httpx
import numpy as np
import pytest
import pyvips

from imgproxy_py.deadline import REQUEST_DEADLINE, Deadline
from imgproxy_py.errors import DeadlineExceededError, RequestCancelledError, UnprocessableImageError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.codecs import svg_render
from tests.conftest import decode
from tests.servers import AppServer, Origin

SVG = ImageFormat.SVG
SLOW = (b'<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="2000">'
        b'<filter id="m"><feMorphology radius="100"/></filter>'
        b'<rect width="2000" height="2000" fill="red" filter="url(#m)"/></svg>')
# Filters, a mask, group opacity, text, gradients, transparency and a CSS filter function.
DRAWING = (b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200">'
           b'<defs><linearGradient id="g"><stop offset="0" stop-color="#0a0"/><stop offset="1" stop-color="#00f"/>'
           b'</linearGradient><mask id="k"><circle cx="150" cy="100" r="80" fill="white"/></mask>'
           b'<filter id="s"><feGaussianBlur stdDeviation="4"/></filter></defs>'
           b'<rect width="300" height="200" fill="url(#g)" mask="url(#k)"/>'
           b'<g opacity="0.5"><rect x="10" y="10" width="80" height="50" fill="red" filter="url(#s)"/></g>'
           b'<text x="200" y="180" font-size="30" fill="black">Ab</text>'
           b'<rect x="220" y="20" width="40" height="40" fill="#ff0" style="filter: blur(3px)"/></svg>')


def in_process(data: bytes, **options: float) -> pyvips.Image:
    return loader.load(data, SVG, lazy_vector=True, **options).copy_memory()  # type: ignore[arg-type]


@pytest.mark.parametrize("shrink", [1.0, 0.5, 3.0])
def test_rendered_apart_as_libvips_renders_here(shrink: float) -> None:
    apart = loader.load(DRAWING, SVG, shrink=shrink)
    here = in_process(DRAWING, shrink=shrink)
    assert (apart.width, apart.height, apart.bands, apart.format) == (here.width, here.height, 4, "uchar")
    assert apart.interpretation == here.interpretation and apart.xres == here.xres
    assert apart.get("vips-loader") == "svgload_source"
    assert np.array_equal(apart.numpy(), here.numpy())


def test_a_worker_serves_one_render_after_another() -> None:
    loader.load(DRAWING, SVG)
    idle = list(svg_render.RENDERERS._idle)
    assert idle and all(process.poll() is None for process in idle)
    loader.load(DRAWING, SVG, shrink=2.0)
    assert svg_render.RENDERERS._idle[-1] in idle  # the same process, not a new one


def test_the_deadline_kills_the_render() -> None:
    token = REQUEST_DEADLINE.set(Deadline.after(0.5))
    try:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            loader.load(SLOW, SVG)
        assert time.monotonic() - started < 3  # in a process of ours it would take about 14 s
    finally:
        REQUEST_DEADLINE.reset(token)
    assert np.array_equal(loader.load(DRAWING, SVG).numpy(), in_process(DRAWING).numpy())  # a new worker


def test_a_client_that_leaves_kills_the_render() -> None:
    deadline = Deadline.after(60)
    outcome: list[BaseException] = []

    def render() -> None:
        REQUEST_DEADLINE.set(deadline)
        try:
            loader.load(SLOW, SVG)
        except BaseException as exc:  # noqa: BLE001 - the test reads what came out
            outcome.append(exc)

    thread = threading.Thread(target=render)
    thread.start()
    time.sleep(0.5)
    deadline.cancel()
    thread.join(timeout=5)
    assert not thread.is_alive() and isinstance(outcome[0], RequestCancelledError)


def test_too_large_a_render_or_a_broken_svg_is_unprocessable() -> None:
    with pytest.raises(UnprocessableImageError):
        loader.load(DRAWING, SVG, max_pixels=300 * 200 - 1)
    with pytest.raises(UnprocessableImageError):
        loader.load(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect', SVG)


def test_a_worker_sees_none_of_the_servers_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPROXY_KEY", "736563726574")
    assert "IMGPROXY_KEY" not in svg_render._environment()
    assert set(svg_render._environment()) <= {*svg_render._INHERITED_ENV, "PYTHONPATH", "PYTHONDONTWRITEBYTECODE",
                                                "MALLOC_ARENA_MAX", "OMP_NUM_THREADS"}


@pytest.fixture(scope="module")
def one_slot(start_server) -> AppServer:  # type: ignore[no-untyped-def]
    return start_server(IMGPROXY_WORKERS="1", IMGPROXY_TIMEOUT="1", IMGPROXY_REQUESTS_QUEUE_SIZE="4")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(("path", "status"), [
    ("/unsafe/plain/{url}@png", 503),  # rendered at its size by scale_on_load
    ("/unsafe/rs:fit:1500:1500/plain/{url}@png", 503),
    ("/unsafe/t:10/plain/{url}@png", 503),  # trim reads the first decode's pixels
    # Detection before scale_on_load renders it at the detector's size (quick: the filter's
    # radius shrinks too), where it read the first decode whole; the rest at 100 px.
    ("/unsafe/cob:1:face/rs:fill:100:100/plain/{url}@png", 200),
    ("/unsafe/g:obj:face/rs:fill:1500:1000/plain/{url}@png", 503),
    ("/info/unsafe/avg:1/dc:1/plain/{url}", 503),  # /info's pixels
    ("/unsafe/rs:fit:100:100/wm:1:ce/wmu:{b64url}/plain/local:///core/hopper.jpg@png", 503),  # a watermark_url SVG
])
def test_a_slow_svg_is_answered_in_time_and_frees_its_slot(client: httpx.Client, one_slot: AppServer,
                                                           origin: Origin, path: str, status: int) -> None:
    url = origin.add("/render/slow.svg", SLOW)
    started = time.monotonic()
    slow = client.get(one_slot.base + path.format(url=url, b64url=_b64(url)))
    assert slow.status_code == status
    assert time.monotonic() - started < 3
    # The only worker slot is free again: the next image does not wait for librsvg.
    started = time.monotonic()
    next_one = client.get(f"{one_slot.base}/unsafe/rs:fit:40:40/plain/local:///core/hopper.jpg@png")
    assert next_one.status_code == 200 and time.monotonic() - started < 0.9
    assert decode(next_one.content).width == 40
