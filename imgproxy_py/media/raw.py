"""Camera RAW files (DNG, CR2, NEF, ARW, ORF, RW2, PEF, SRW, RAF, CRW) through ImageMagick.

ImageMagick and the RAW converter it delegates to (``dcraw``) are large C code bases parsing
hostile input, so they never run in the server process.  ``RawDecoder`` owns one long-lived
worker process (``imgproxy_py.media.raw_worker``) in its own process group, started on first
use, with

* its own ImageMagick configuration: a ``policy.xml`` that allows only the RAW coders (plus PPM,
  the converter's output, and PDF when enabled), only the converter as a delegate, and no
  indirect reads, and a ``delegates.xml`` that runs the converter through a small script;
* ImageMagick resource limits (memory, map, disk, width, height, area, one thread) and kernel
  limits (address space, file size, no core dumps) that the converter inherits;
* a private working directory for every temporary file, emptied after each decode and removed
  with the worker.

Inputs are sniffed here first: anything that is not a known RAW (or PDF when enabled) is refused
without reaching the worker.  A decode that runs past its time limit kills the worker's whole
process group (503), and so does a decode whose request's client has left (499: the request's
``deadline.REQUEST_DEADLINE`` cancelled); a crashed worker is reported (422) and replaced on the
next decode.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyvips

from imgproxy_py.deadline import REQUEST_DEADLINE
from imgproxy_py.envreader import EnvReader
from imgproxy_py.errors import ImgproxyError, RequestCancelledError
from imgproxy_py.media import parse_byte_size
from imgproxy_py.media.raw_policy import DELEGATE_SCRIPT, delegates_xml, policy_xml, shell_quote
from imgproxy_py.media.raw_sniff import RAW_CODERS, is_pdf, is_raw, sniff_raw
from imgproxy_py.media.raw_worker import SETTINGS_ENV
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

logger = logging.getLogger("imgproxy_py.media")

# Re-exported: callers recognise RAW files through this module.
__all__ = ["RAW_CODERS", "RawConfig", "RawDecodeError", "RawDecoder", "RawTimeoutError", "RawUnsupportedError",
           "is_pdf", "is_raw", "raw_available", "sniff_raw"]

MiB = 1024 * 1024
GiB = 1024 * MiB


# -- errors -------------------------------------------------------------------------------------


class RawDecodeError(ImgproxyError):
    """A RAW file could not be decoded; ``status`` is 422, or 503 for a timeout."""

    status = 422
    default_public_message = "Unprocessable RAW image"


class RawUnsupportedError(RawDecodeError):
    """Refused before decoding: not a RAW file this decoder accepts (or RAW decoding is off)."""

    default_public_message = "Unsupported image format"


class RawTimeoutError(RawDecodeError):
    status = 503
    default_public_message = "Timeout"


# -- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawConfig:
    """RAW decoding settings; sizes are bytes, dimensions pixels, the timeout seconds per decode."""

    enabled: bool = True
    timeout: float = 20.0
    memory_limit: int = 256 * MiB
    map_limit: int = 512 * MiB
    disk_limit: int = 1 * GiB
    width_limit: int = 16384
    height_limit: int = 16384
    area_limit: int = 128_000_000
    enable_pdf: bool = False
    dcraw: str = "dcraw"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> tuple[RawConfig, list[str]]:
        reader = EnvReader(env)
        config = cls(
            # imgproxy Pro's name, read when ours is not set (an imgproxy admin's false turns RAW off).
            enabled=reader.boolean("IMGPROXY_RAW_ENABLED", reader.boolean("IMGPROXY_ENABLE_RAW_FORMATS", cls.enabled)),
            timeout=reader.number("IMGPROXY_RAW_TIMEOUT", cls.timeout, minimum=0.001),
            memory_limit=_size(reader, "IMGPROXY_RAW_MEMORY_LIMIT", cls.memory_limit),
            map_limit=_size(reader, "IMGPROXY_RAW_MAP_LIMIT", cls.map_limit),
            disk_limit=_size(reader, "IMGPROXY_RAW_DISK_LIMIT", cls.disk_limit),
            width_limit=reader.integer("IMGPROXY_RAW_WIDTH_LIMIT", cls.width_limit, minimum=1),
            height_limit=reader.integer("IMGPROXY_RAW_HEIGHT_LIMIT", cls.height_limit, minimum=1),
            area_limit=reader.integer("IMGPROXY_RAW_AREA_LIMIT", cls.area_limit, minimum=1),
            enable_pdf=reader.boolean("IMGPROXY_RAW_ENABLE_PDF", cls.enable_pdf),
            dcraw=reader.string("IMGPROXY_RAW_DCRAW", cls.dcraw) or cls.dcraw,
        )
        return config, reader.errors

    @property
    def address_space_limit(self) -> int:
        """Kernel address-space limit of the worker (and the converter): the pixel budgets plus
        room for the interpreter, the libraries and the converter's own buffers."""
        return self.memory_limit + self.map_limit + 1 * GiB


def _size(reader: EnvReader, name: str, default: int) -> int:
    value = reader.parsed(name, default, parse_byte_size)
    if value <= 0:
        reader.errors.append(f"{name}: must be greater than 0")
        return default
    return value


MISSING_RAW = ("camera RAW needs Wand and ImageMagick, which are not installed: "
               "pip install 'imgproxy-py[raw]' and the system's libmagickwand and dcraw")


def raw_available() -> bool:
    """Whether Wand imports and finds the MagickWand library (importing only loads the library)."""
    try:
        import wand.api  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def converter_path(config: RawConfig) -> str | None:
    """Absolute path of the RAW converter ImageMagick will run, if it exists."""
    return shutil.which(config.dcraw)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    root: str  # its folder: configuration and work files
    workdir: str


# -- the decoder ----------------------------------------------------------------------------------


_INHERITED_ENV = (
    "PATH", "LD_LIBRARY_PATH", "MAGICK_HOME", "WAND_MAGICK_LIBRARY_SUFFIX", "PYTHONHOME", "LANG", "LC_ALL",
)


def _stop_worker(worker: Worker, *, graceful: bool) -> None:
    """Stop the worker and everything it started, then remove its files."""
    process = worker.process
    if graceful and process.poll() is None:
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
    # The worker leads its own process group: this also ends a converter it left running.
    stop(process, "RAW worker")
    shutil.rmtree(worker.root, ignore_errors=True)


class _Holder:
    """The current worker, shared with the finalizer so that it outlives the decoder's ``self``."""

    def __init__(self) -> None:
        self.worker: Worker | None = None

    def stop(self, *, graceful: bool = False) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            _stop_worker(worker, graceful=graceful)


class RawDecoder:
    """Decodes RAW files in one long-lived, resource-limited worker process.

    ``decode`` is blocking and safe to call from many threads; decodes are serialised because
    the worker handles one at a time (callers wait for their turn within their own deadline).
    """

    def __init__(self, config: RawConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._holder = _Holder()
        self._finalizer = weakref.finalize(self, self._holder.stop)

    # -- public API ---------------------------------------------------------------------------

    def sniff(self, data: bytes, filename_hint: str = "") -> str | None:
        """The coder this decoder would use for ``data``, or None if it refuses it."""
        coder = sniff_raw(data, filename_hint)
        if coder is None and self.config.enable_pdf and is_pdf(data):
            return "PDF"
        return coder

    def accepts(self, data: bytes, filename_hint: str = "") -> bool:
        return self.config.enabled and self.sniff(data, filename_hint) is not None

    @property
    def worker_pid(self) -> int | None:
        worker = self._holder.worker
        return worker.process.pid if worker is not None and worker.process.poll() is None else None

    def decode(self, data: bytes, *, deadline: float, filename_hint: str = "") -> pyvips.Image:
        """An sRGB uchar image (3 bands, or 4 with alpha) of the RAW file ``data``.

        ``deadline`` is a ``time.monotonic()`` value; ``config.timeout`` bounds the decode too.
        """
        if not self.config.enabled:
            raise RawUnsupportedError("RAW decoding is disabled")
        coder = self.sniff(data, filename_hint)
        if coder is None:
            raise RawUnsupportedError("not a RAW file this server decodes")
        return self._decode_as(coder, data, deadline)

    def close(self) -> None:
        """Stop the worker and remove its files; a later ``decode`` starts a new one."""
        with self._lock:
            self._holder.stop(graceful=True)

    def __enter__(self) -> RawDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------

    def _decode_as(self, coder: str, data: bytes, deadline: float) -> pyvips.Image:
        limit = min(deadline, time.monotonic() + self.config.timeout)
        if not self._lock.acquire(timeout=max(0.0, limit - time.monotonic())):
            raise RawTimeoutError("waited too long for the RAW worker")
        try:
            header, pixels = self._exchange(coder, data, limit)
        finally:
            self._lock.release()
        if not header.get("ok"):
            kind = header.get("kind", "decode")
            raise RawDecodeError(f"RAW decoding failed ({kind}): {header.get('error', 'unknown error')}")
        return _to_vips(header, pixels)

    def _exchange(self, coder: str, data: bytes, limit: float) -> tuple[dict[str, Any], bytearray]:
        try:
            worker = self._ensure_worker(limit)
            request = json.dumps({"format": coder}).encode()
            with killed_if_the_client_leaves(worker.process):
                write(worker.process, FRAME.pack(len(request), len(data)) + request, limit)
                write(worker.process, data, limit)
                return read_message(worker.process, limit)
        except Expired:
            self._holder.stop()
            raise RawTimeoutError("RAW decoding ran past its time limit; the worker was stopped") from None
        except WorkerGone as exc:
            gone = self._holder.worker
            self._holder.stop()
            deadline = REQUEST_DEADLINE.get()
            if deadline is not None and deadline.cancelled:
                raise RequestCancelledError("the client closed the connection; the RAW worker was stopped") from None
            code = gone.process.returncode if gone is not None else None
            raise RawDecodeError(f"the RAW worker died ({exc}; exit status {code})") from None

    def _ensure_worker(self, limit: float) -> Worker:
        worker = self._holder.worker
        if worker is not None and worker.process.poll() is None:
            return worker
        if worker is not None:
            logger.warning("RAW worker %d exited with %s; starting a new one", worker.process.pid,
                           worker.process.returncode)
            self._holder.stop()
        worker = self._start()
        self._holder.worker = worker
        hello, _ = read_message(worker.process, limit)
        if not hello.get("ready"):
            self._holder.stop()
            raise RawUnsupportedError(str(hello.get("error", "the RAW worker could not start")))
        return worker

    def _start(self) -> Worker:
        root = tempfile.mkdtemp(prefix="imgproxy-raw-")
        try:
            configdir = os.path.join(root, "config")
            workdir = os.path.join(root, "work")
            os.mkdir(configdir, 0o700)
            os.mkdir(workdir, 0o700)
            converter = converter_path(self.config)
            if converter is None:
                logger.warning("RAW converter %r not found: RAW files will fail to decode", self.config.dcraw)
                converter = self.config.dcraw
            script = os.path.join(configdir, "raw-delegate")
            with open(script, "w", encoding="utf-8") as handle:
                handle.write(DELEGATE_SCRIPT.format(converter=shell_quote(converter)))
            os.chmod(script, 0o700)
            with open(os.path.join(configdir, "policy.xml"), "w", encoding="utf-8") as handle:
                handle.write(policy_xml(self.config, script))
            with open(os.path.join(configdir, "delegates.xml"), "w", encoding="utf-8") as handle:
                handle.write(delegates_xml(script))
            process = subprocess.Popen(
                [sys.executable, "-m", "imgproxy_py.media.raw_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=workdir,
                env=self._environment(configdir, workdir),
                start_new_session=True,
                close_fds=True,
            )
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        for stream in (process.stdin, process.stdout):
            assert stream is not None
            os.set_blocking(stream.fileno(), False)
        return Worker(process, root, workdir)

    def _environment(self, configdir: str, workdir: str) -> dict[str, str]:
        # What the worker needs to find Python, ImageMagick and the converter, nothing of the server's own.
        env = worker_environment(_INHERITED_ENV)
        env.update(
            MAGICK_CONFIGURE_PATH=configdir,
            MAGICK_TEMPORARY_PATH=workdir,
            TMPDIR=workdir,
            HOME=workdir,
            MAGICK_THREAD_LIMIT="1",
            OMP_NUM_THREADS="1",
        )
        env[SETTINGS_ENV] = json.dumps(
            {
                "workdir": workdir,
                "memory": self.config.memory_limit,
                "map": self.config.map_limit,
                "disk": self.config.disk_limit,
                "width": self.config.width_limit,
                "height": self.config.height_limit,
                "area": self.config.area_limit,
                "address_space": self.config.address_space_limit,
                "file_size": self.config.disk_limit,
            }
        )
        return env


def _to_vips(header: dict[str, Any], pixels: bytearray) -> pyvips.Image:
    width, height, bands, depth = (int(header[key]) for key in ("width", "height", "bands", "depth"))
    if depth not in (8, 16) or bands not in (3, 4) or len(pixels) != width * height * bands * depth // 8:
        raise RawDecodeError("the RAW worker sent malformed pixels")
    image = pyvips.Image.new_from_memory(pixels, width, height, bands, "ushort" if depth == 16 else "uchar")
    if depth == 16:
        image = (image >> 8).cast("uchar")
    return image.copy(interpretation="srgb")
