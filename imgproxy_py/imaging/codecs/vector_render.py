"""SVGs and PDF pages rendered in worker processes that the request's deadline can kill.

librsvg and PDFium render without a stop (libvips checks its kill flag only between the regions
it asks librsvg for), and some sources take minutes: a 63 KB SVG of 1,000 groups with an opacity
took 19 s at 4000x4000 px, 1,000 masked dots over 280 s, a filter 3.5 s a megapixel; a 111 KB PDF
page of a million strokes 153 s; all past ``IMGPROXY_TIMEOUT``, their worker slot held.  A crash
in either (hostile input) would take the server's process down with every request it holds.  So
their pixels are rendered in a worker process (``vector_worker``): killed when the request's time
is up (503) or its client leaves (499), replaced by the next render; what it renders comes back
as pixels in memory, with the header the worker's load gives.  Where only an SVG's size is
needed, libvips' lazy load in the server gives it and renders nothing (``codecs.load``:
``lazy_vector``); a PDF's page sizes come from a worker too, so PDFium never parses a file in
the server's process.

The workers are kept between renders (a start costs about 100 ms of CPU), as many idle as
renders may run at once (``configure``); a render costs two copies of its pixels over a pipe.
A worker has its own address-space limit and none of the server's environment (keys,
credentials).  The pool is the process's, as libvips' state is; a process that forked from one
that had workers starts its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pyvips

from imgproxy_py.deadline import REQUEST_DEADLINE
from imgproxy_py.errors import (
    DeadlineExceededError,
    RequestCancelledError,
    ResolutionTooBigError,
    UnprocessableImageError,
)
from imgproxy_py.imaging.codecs import wheels
from imgproxy_py.imaging.codecs.dib_header import ImageDecodeError
from imgproxy_py.worker_pipes import (
    FRAME,
    Expired,
    WorkerGone,
    killed_if_the_client_leaves,
    read_message,
    stop,
    worker_environment,
    write,
)

GiB = 1 << 30
# A render without a request (the configured watermark at start-up) gets this long.
UNBOUNDED_SECONDS = 600.0
# The largest render asked without a limit of its own: 16384 px a side, the default result
# limit (``context.DEFAULT_MAX_RESULT_RESOLUTION``).
MAX_RENDER_PIXELS = 16384 * 16384
# A worker's address space: the largest render's RGBA pixels three times (libvips' image, the
# copy sent, librsvg's surface) and 2 GiB for Python, libvips and librsvg's own work; a
# render past it fails (422) instead of taking the host's memory.
WORKER_ADDRESS_SPACE = 3 * 4 * MAX_RENDER_PIXELS + 2 * GiB
_INHERITED_ENV = ("PATH", "LD_LIBRARY_PATH", "PYTHONHOME", "LANG", "LC_ALL", "TMPDIR")
_FORMATS = {"uchar": 1, "ushort": 2, "float": 4}


class VectorRenderers:
    """Idle workers, and the renders that take one (or start one) and give it back."""

    def __init__(self, max_idle: int = 2) -> None:
        self.max_idle = max_idle
        self._idle: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def render_svg(self, data: bytes, options: dict[str, Any], max_pixels: int = MAX_RENDER_PIXELS) -> pyvips.Image:
        """``data`` rendered by libvips' ``svgload`` with ``options``, with the header libvips'
        load gives (the worker reads it: the server parses nothing); refused past ``max_pixels``."""
        reply, pixels = self._exchange("svg", data, options, max_pixels)
        img = _pixels(reply, pixels).copy(interpretation=str(reply["interpretation"]), xres=float(reply["xres"]),
                                          yres=float(reply["yres"]))
        if reply.get("loader"):
            img.set_type(pyvips.GValue.gstr_type, "vips-loader", str(reply["loader"]))
        return img

    def load_pdf(self, data: bytes, options: dict[str, Any], max_pixels: int) -> pyvips.Image:
        """Pages of ``data`` rendered by ``codecs.pdf.load_pdf`` with ``options`` (PDFium never
        runs in the server's process), with the page count; with ``header_only`` among the
        options, a blank image of their size, nothing rendered."""
        reply, pixels = self._exchange("pdf", data, options, max_pixels)
        if options.get("header_only"):
            img = pyvips.Image.black(int(reply["width"]), int(reply["height"]))
        else:
            img = _pixels(reply, pixels).copy(interpretation="srgb")
        return wheels.attach_metadata(img, pages=int(reply["pages"]))

    def _exchange(self, kind: str, data: bytes, options: dict[str, Any],
                  max_pixels: int) -> tuple[dict[str, Any], bytearray]:
        deadline = REQUEST_DEADLINE.get()
        limit = deadline.expires_at if deadline is not None else time.monotonic() + UNBOUNDED_SECONDS
        if deadline is not None:
            deadline.check()  # no time left: no worker taken, and none killed for nothing
        request = {"kind": kind, "options": options, "max_pixels": max_pixels, "seconds": limit - time.monotonic()}
        process = self._take(limit)
        done = False
        try:
            encoded = json.dumps(request).encode()
            with killed_if_the_client_leaves(process):
                write(process, FRAME.pack(len(encoded), len(data)) + encoded, limit)
                write(process, data, limit)
                reply, pixels = read_message(process, limit)
            done = True
        except Expired:
            raise DeadlineExceededError(f"rendering the {kind.upper()} ran past IMGPROXY_TIMEOUT; "
                                        "its worker was stopped") from None
        except WorkerGone as exc:
            if deadline is not None and deadline.cancelled:
                raise RequestCancelledError("the client closed the connection; the render was stopped") from None
            raise ImageDecodeError(f"its render crashed ({exc})") from None
        finally:
            if done:
                self._give_back(process)
            else:
                _stop(process)
        if not reply.get("ok"):
            error = str(reply.get("error", "unknown error"))
            raise ResolutionTooBigError(error) if reply.get("resolution") else ImageDecodeError(error)
        return reply, pixels

    def _take(self, limit: float) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._pid != os.getpid():  # forked: the workers are the parent's
                self._idle, self._pid = [], os.getpid()
            while self._idle:
                process = self._idle.pop()
                if process.poll() is None:
                    return process
                _stop(process)
        return _start(limit)

    def _give_back(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle and self._pid == os.getpid():
                self._idle.append(process)
                return
        _stop(process)


def _start(limit: float) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "imgproxy_py.imaging.codecs.vector_worker", str(WORKER_ADDRESS_SPACE)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=_environment(), start_new_session=True, close_fds=True)
    for stream in (process.stdin, process.stdout):
        assert stream is not None
        os.set_blocking(stream.fileno(), False)
    try:
        hello, _ = read_message(process, limit)
    except (Expired, WorkerGone):
        _stop(process)
        raise DeadlineExceededError("the render worker did not start in time") from None
    if not hello.get("ready"):
        _stop(process)
        raise UnprocessableImageError("the render worker could not start")
    return process


def _environment() -> dict[str, str]:
    # What the worker needs to find Python and libvips, nothing of the server's own.
    return {**worker_environment(_INHERITED_ENV), "PYTHONDONTWRITEBYTECODE": "1", "MALLOC_ARENA_MAX": "2",
            "OMP_NUM_THREADS": "1"}


def _stop(process: subprocess.Popen[bytes]) -> None:
    stop(process, "render worker")


def _pixels(reply: dict[str, Any], pixels: bytearray) -> pyvips.Image:
    width, height, bands, fmt = int(reply["width"]), int(reply["height"]), int(reply["bands"]), str(reply["format"])
    if len(pixels) != width * height * bands * _FORMATS.get(fmt, 0):
        raise ImageDecodeError("its render sent malformed pixels")
    return pyvips.Image.new_from_memory(pixels, width, height, bands, fmt)


# The process's workers, as libvips is the process's.
RENDERERS = VectorRenderers()


def configure(max_idle: int) -> None:
    """As many idle workers kept as renders may run at once (the server's worker slots)."""
    RENDERERS.max_idle = max(1, max_idle)
