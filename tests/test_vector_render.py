"""SVGs and PDF pages rendered in worker processes that a deadline can kill (``imaging.codecs.vector_render``).

librsvg and PDFium render without a stop: the SVG below (one ``feMorphology`` over 2000x2000 px)
takes about 14 s in a process of ours, the 111 KB PDF (a million strokes on a 600x600 page) about
150 s, a worker slot held past ``IMGPROXY_TIMEOUT``.  Rendered apart, the request gets its 503 at
the deadline and the slot takes the next request at once, on every path that reads their pixels.
"""

from __future__ import annotations

import base64
import os
import signal
import threading
import time
import zlib

import httpx
import numpy as np
import pytest
import pyvips

from imgproxy_py.deadline import REQUEST_DEADLINE, Deadline
from imgproxy_py.errors import (
    DeadlineExceededError,
    RequestCancelledError,
    ResolutionTooBigError,
    UnprocessableImageError,
)
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.codecs import pdf, vector_render
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


def pdf_page(content: bytes, width: int = 600, height: int = 600) -> bytes:
    """A one-page PDF drawing ``content`` (its operators), the stream compressed."""
    stream = zlib.compress(content, 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R >>" % (width, height),
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)]
    body, offsets = b"%PDF-1.4\n", []
    for number, text in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, text)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


SLOW_PDF = pdf_page(b"0.5 w " + b"10 10 m 590 590 l 590 10 l 10 590 l S\n" * 1_000_000)
SQUARES = pdf_page(b"0 0 1 rg 0 60 40 40 re f 1 0 0 rg 50 10 30 30 re f", 100, 100)


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


@pytest.mark.parametrize("options", [{}, {"shrink": 2.0}, {"no_background": True}])
def test_pdf_pages_rendered_apart_as_rendered_here(options: dict[str, object]) -> None:
    apart = loader.load(SQUARES, ImageFormat.PDF, **options)  # type: ignore[arg-type]
    here = pdf.load_pdf(SQUARES, max_pixels=1 << 30, **options)
    assert (apart.width, apart.height, apart.bands, apart.interpretation) == (
        here.width, here.height, here.bands, here.interpretation)
    assert apart.get("n-pages") == 1 and np.array_equal(apart.numpy(), here.numpy())


def test_pdfium_never_opens_a_file_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("PDFium opened a file in the server's process")

    monkeypatch.setattr(pypdfium2, "PdfDocument", refuse)
    header = loader.load(SQUARES, ImageFormat.PDF, header_only=True)
    assert (header.width, header.height, header.get("n-pages")) == (100, 100, 1)
    assert loader.load(SQUARES, ImageFormat.PDF).bands == 3


def test_a_worker_serves_one_render_after_another() -> None:
    loader.load(DRAWING, SVG)
    idle = list(vector_render.RENDERERS._idle)
    assert idle and all(process.poll() is None for process in idle)
    loader.load(DRAWING, SVG, shrink=2.0)
    assert vector_render.RENDERERS._idle[-1] in idle  # the same process, not a new one


@pytest.mark.parametrize(("data", "fmt"), [(SLOW, SVG), (SLOW_PDF, ImageFormat.PDF)])
def test_the_deadline_kills_the_render(data: bytes, fmt: ImageFormat) -> None:
    token = REQUEST_DEADLINE.set(Deadline.after(0.5))
    try:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            loader.load(data, fmt)
        assert time.monotonic() - started < 3  # in a process of ours: 14 s, 150 s
    finally:
        REQUEST_DEADLINE.reset(token)
    assert np.array_equal(loader.load(DRAWING, SVG).numpy(), in_process(DRAWING).numpy())  # a new worker


def render_slow_svg_in_background(deadline: Deadline) -> tuple[threading.Thread, list[BaseException]]:
    """The slow SVG being rendered for a request with ``deadline``, half a second in: the
    thread, and the list that will hold what the render raised."""
    outcome: list[BaseException] = []

    def render() -> None:
        REQUEST_DEADLINE.set(deadline)
        try:
            loader.load(SLOW, SVG)
        except BaseException as exc:  # the test reads what came out
            outcome.append(exc)

    thread = threading.Thread(target=render)
    thread.start()
    time.sleep(0.5)
    return thread, outcome


def test_a_client_that_leaves_kills_the_render() -> None:
    deadline = Deadline.after(60)
    thread, outcome = render_slow_svg_in_background(deadline)
    deadline.cancel()
    thread.join(timeout=5)
    assert not thread.is_alive() and isinstance(outcome[0], RequestCancelledError)


def _busy_workers() -> list[int]:
    """This process's render workers that are not idle: rendering now."""
    idle = {process.pid for process in vector_render.RENDERERS._idle}
    busy = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in idle:
            try:
                with open(f"/proc/{entry}/stat") as stat, open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                    if parent == os.getpid() and b"vector_worker" in cmdline.read():
                        busy.append(int(entry))
            except OSError:
                continue
    return busy


def test_a_render_that_crashes_fails_its_request_not_the_server() -> None:
    thread, outcome = render_slow_svg_in_background(Deadline.after(60))
    (busy,) = _busy_workers()
    os.kill(busy, signal.SIGSEGV)  # as librsvg or PDFium crashing on hostile input
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert type(outcome[0]) is UnprocessableImageError  # a 422, not a 503 nor a 499
    assert loader.load(DRAWING, SVG).width == 300  # and the next render works


def test_too_large_a_render_or_a_broken_source_is_unprocessable() -> None:
    with pytest.raises(ResolutionTooBigError):
        loader.load(DRAWING, SVG, max_pixels=300 * 200 - 1)
    with pytest.raises(ResolutionTooBigError):
        loader.load(SQUARES, ImageFormat.PDF, max_pixels=100 * 100 - 1)
    with pytest.raises(UnprocessableImageError):
        loader.load(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect', SVG)
    broken = SQUARES.replace(b"/FlateDecode", b"/LZWDecode")  # a stream no decoder makes sense of
    assert loader.load(broken, ImageFormat.PDF).width == 100  # PDFium draws what it can: nothing


def test_a_worker_sees_none_of_the_servers_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPROXY_KEY", "736563726574")
    assert "IMGPROXY_KEY" not in vector_render._environment()
    assert set(vector_render._environment()) <= {*vector_render._INHERITED_ENV, "PYTHONPATH", "PYTHONDONTWRITEBYTECODE",
                                                "MALLOC_ARENA_MAX", "OMP_NUM_THREADS"}


@pytest.fixture(scope="module")
def one_slot(start_server) -> AppServer:  # type: ignore[no-untyped-def]
    return start_server(IMGPROXY_WORKERS="1", IMGPROXY_TIMEOUT="1", IMGPROXY_REQUESTS_QUEUE_SIZE="4")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(("source", "path", "status"), [
    ("slow.svg", "/unsafe/plain/{url}@png", 503),  # rendered at its size by scale_on_load
    ("slow.svg", "/unsafe/rs:fit:1500:1500/plain/{url}@png", 503),
    ("slow.svg", "/unsafe/t:10/plain/{url}@png", 503),  # trim reads the first decode's pixels
    # Detection before scale_on_load renders it at the detector's size (quick: the filter's
    # radius shrinks too), where it read the first decode whole; the rest at 100 px.
    ("slow.svg", "/unsafe/cob:1:face/rs:fill:100:100/plain/{url}@png", 200),
    ("slow.svg", "/unsafe/g:obj:face/rs:fill:1500:1000/plain/{url}@png", 503),
    ("slow.svg", "/info/unsafe/avg:1/dc:1/plain/{url}", 503),  # /info's pixels
    ("slow.svg", "/unsafe/rs:fit:100:100/wm:1:ce/wmu:{b64url}/plain/local:///core/hopper.jpg@png", 503),
    ("slow.pdf", "/unsafe/rs:fit:100:100/plain/{url}@png", 503),
    ("slow.pdf", "/info/unsafe/avg:1/plain/{url}", 503),
])
def test_a_slow_source_is_answered_in_time_and_frees_its_slot(client: httpx.Client, one_slot: AppServer,
                                                              origin: Origin, source: str, path: str,
                                                              status: int) -> None:
    url = origin.add(f"/render/{source}", SLOW if source.endswith(".svg") else SLOW_PDF)
    started = time.monotonic()
    slow = client.get(one_slot.base + path.format(url=url, b64url=_b64(url)))
    assert slow.status_code == status
    assert time.monotonic() - started < 3
    # The only worker slot is free again: the next image does not wait for librsvg.
    started = time.monotonic()
    next_one = client.get(f"{one_slot.base}/unsafe/rs:fit:40:40/plain/local:///core/hopper.jpg@png")
    assert next_one.status_code == 200 and time.monotonic() - started < 0.9
    assert decode(next_one.content).width == 40
