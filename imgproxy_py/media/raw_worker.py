"""The RAW decoding worker process: ``python -m imgproxy_py.media.raw_worker``.

Started by ``imgproxy_py.media.raw.RawDecoder`` with a private ImageMagick configuration
(``MAGICK_CONFIGURE_PATH``) and its settings as JSON in ``IMGPROXY_PY_INTERNAL_RAW_WORKER``.  It
reads requests from stdin and writes replies to stdout, framed as ``imgproxy_py.worker_pipes`` says.
A request's header names the ImageMagick coder to use and its payload is the file; a reply's
header says ``ok`` with the pixel layout (width, height, bands, depth) and its payload holds the
interleaved RGB(A) pixels (8-bit, or native-endian 16-bit), or says what went wrong.  Before
anything else the worker announces itself with ``{"ready": true}`` (or why ImageMagick is missing).

Nothing but this module, the pipes' framing and Wand is imported here: the worker should stay small, and a crash in
ImageMagick or in the RAW converter it runs must only ever take this process down.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys
from typing import Any

from imgproxy_py.worker_pipes import detach_stdio, limit_process, receive, send

SETTINGS_ENV = "IMGPROXY_PY_INTERNAL_RAW_WORKER"


def _sweep(directory: str) -> None:
    """Remove whatever a decode left in the work directory (ImageMagick's and the converter's files)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


class _Magick:
    """The few Wand pieces the worker needs, imported after the environment is in place."""

    def __init__(self, settings: dict[str, Any]) -> None:
        from wand import exceptions
        from wand.api import library
        from wand.image import STORAGE_TYPES, Image
        from wand.resource import limits
        from wand.version import MAGICK_VERSION

        self.exceptions = exceptions
        self.library = library
        self.image_class = Image
        self.storage_types = STORAGE_TYPES
        self.version = MAGICK_VERSION
        # ImageMagick's own "time" limit is left alone on purpose: ImageMagick 6 measures it
        # from the process's first pixel cache and then aborts the process, which would kill this
        # long-lived worker after that many seconds of life.  The parent's per-decode timeout
        # (it kills the whole process group) bounds time instead.
        for name in ("memory", "map", "disk", "width", "height", "area"):
            if settings.get(name):
                limits[name] = settings[name]
        limits["thread"] = 1

    def decode(self, coder: str, payload: bytes) -> tuple[dict[str, Any], bytearray]:
        image = self.image_class()
        try:
            image.read(blob=payload, format=coder.lower())
            image.iterator_first()
            if image.colorspace not in ("srgb", "gray"):
                image.transform_colorspace("srgb")
            channels = "RGBA" if image.alpha_channel else "RGB"
            depth = 16 if image.depth > 8 else 8
            width, height = image.width, image.height
            size = width * height * len(channels) * (depth // 8)
            pixels = bytearray(size)
            buffer = (ctypes.c_char * size).from_buffer(pixels)
            storage = self.storage_types.index("short" if depth == 16 else "char")
            if not self.library.MagickExportImagePixels(
                image.wand, 0, 0, width, height, channels.encode(), storage, ctypes.byref(buffer)
            ):
                image.raise_exception()
                raise RuntimeError("exporting the pixels failed")
            del buffer
            header = {"ok": True, "width": width, "height": height, "bands": len(channels), "depth": depth}
            return header, pixels
        finally:
            image.close()

    def classify(self, exc: BaseException) -> str:
        if isinstance(exc, self.exceptions.PolicyError):
            return "policy"
        if isinstance(exc, self.exceptions.ResourceLimitError | MemoryError):
            return "limit"
        return "decode"


def main() -> int:
    settings: dict[str, Any] = json.loads(os.environ.get(SETTINGS_ENV, "{}"))
    proto_in, proto_out = detach_stdio()
    limit_process(settings.get("address_space", 0), settings.get("file_size", 0))
    try:
        magick = _Magick(settings)
    except (ImportError, OSError) as exc:
        send(proto_out, {"ready": False, "error": f"ImageMagick is not available: {exc}"})
        return 1
    send(proto_out, {"ready": True, "version": magick.version})
    workdir = str(settings.get("workdir", ""))
    max_payload = int(settings.get("max_payload", 1 << 34))
    while True:
        request = receive(proto_in, max_payload)
        if request is None:
            # The server closed our input: it is done with us, or it was killed and will never
            # remove our folder (configuration and work files) itself.
            if workdir:
                shutil.rmtree(os.path.dirname(workdir), ignore_errors=True)
            return 0
        header, payload = request
        try:
            reply, pixels = magick.decode(str(header["format"]), payload)
        except Exception as exc:  # every decoding failure is reported, the worker carries on
            reply, pixels = {"ok": False, "kind": magick.classify(exc), "error": str(exc)[:2000]}, bytearray()
        del payload
        if workdir:
            _sweep(workdir)
        send(proto_out, reply, pixels)


if __name__ == "__main__":
    sys.exit(main())
