"""The worker process that renders SVGs and PDF pages: ``python -m
imgproxy_py.imaging.codecs.vector_worker LIMIT``.

Started by ``imgproxy_py.imaging.codecs.vector_render``; ``LIMIT`` is its address space in bytes.
It announces itself with ``{"ready": true}``, then renders one source per request, framed as
``imgproxy_py.worker_pipes`` says.  A request's header holds the ``kind`` (``svg``: libvips'
``svgload``; ``pdf``: ``codecs.pdf.load_pdf``, only its page sizes with ``header_only``), its
arguments (``options``), the most pixels to render (``max_pixels``) and the seconds left
(``seconds``), and its payload is the source; a reply's header says ``ok`` with the layout
(width, height, bands, format; a PDF's page count) and its payload holds the pixels, or says
what went wrong (``resolution``: past the limit).

librsvg and PDFium are what may run on: ``seconds`` arms an alarm that ends the process should
the server that waits for it be gone, and the server kills it itself when the request's time is
up.  Nothing but pyvips, PDFium, the pipes' framing and the libvips settings is imported here.
"""

from __future__ import annotations

import math
import signal
import sys
from typing import Any

from imgproxy_py.worker_pipes import detach_stdio, limit_process, receive, send

# A source's bytes: the server refuses larger ones long before.
MAX_PAYLOAD = 1 << 31


def render(pyvips: Any, header: dict[str, Any], payload: bytes) -> tuple[dict[str, Any], bytes]:
    options, max_pixels, pdf = header["options"], int(header["max_pixels"]), header["kind"] == "pdf"
    signal.alarm(max(1, math.ceil(float(header["seconds"]))))
    try:
        if pdf:
            from imgproxy_py.imaging.codecs.pdf import load_pdf  # PDFium only where PDFs come

            img = load_pdf(payload, max_pixels=max_pixels, **options)
            if options.get("header_only"):  # the page sizes only, nothing rendered
                return {"ok": True, "width": img.width, "height": img.height, "pages": img.get("n-pages")}, b""
        else:
            img = pyvips.Image.svgload_source(pyvips.Source.new_from_memory(payload), **options)
            if img.width == img.height == 1 and sized_past_libvips(pyvips, payload, options):
                return {"ok": False, "error": "SVG's size is past what can be rendered (2^31 px a side)"}, b""
            if img.width * img.height > max_pixels:
                return {"ok": False, "resolution": True,
                        "error": f"{img.width}x{img.height} is more than may be rendered"}, b""
        pixels: bytes = img.write_to_memory()
    finally:
        signal.alarm(0)
    reply: dict[str, Any] = {"ok": True, "width": img.width, "height": img.height, "bands": img.bands,
                             "format": str(img.format)}
    if pdf:
        reply["pages"] = img.get("n-pages")
    else:  # the header libvips' load gives, for the server to set on the pixels
        reply.update(interpretation=str(img.interpretation), xres=img.xres, yres=img.yres,
                     loader=img.get("vips-loader") if "vips-loader" in img.get_fields() else "")
    return reply, pixels


def sized_past_libvips(pyvips: Any, data: bytes, options: dict[str, Any]) -> bool:
    """Whether an SVG that libvips loads as 1x1 is one whose size at this scale passes 2^31 px
    (``viewBox="0 0 1e10 1e10"`` and no width): libvips can't set its size, and a wrong image
    would follow.  A true 1x1 has no pixels left at a 2^-24 scale; one that still has some is
    too large to render."""
    try:
        pyvips.Image.svgload_source(pyvips.Source.new_from_memory(data),
                                    **{**options, "scale": options["scale"] * 2.0 ** -24})
    except pyvips.Error:
        return False
    return True


def main() -> int:
    proto_in, proto_out = detach_stdio()
    limit_process(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    import pyvips  # after the limits: libvips' own allocations count too

    from imgproxy_py.imaging.codecs.dib_header import ImageDecodeError
    from imgproxy_py.imaging.vips_config import configure_libvips

    configure_libvips()  # as the server's: untrusted loaders but librsvg blocked, one thread
    send(proto_out, {"ready": True})
    while True:
        request = receive(proto_in, MAX_PAYLOAD)
        if request is None:
            return 0  # the server is done with us
        header, payload = request
        try:
            reply, pixels = render(pyvips, header, payload)
        except (pyvips.Error, ImageDecodeError, MemoryError) as exc:  # broken, or past the memory limit
            message = str(exc)
            reply, pixels = {"ok": False, "error": message[:2000], "resolution": "resolution" in message}, b""
        except Exception as exc:  # PDFium's own errors: the worker carries on
            reply, pixels = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}, b""
        del payload
        send(proto_out, reply, pixels)


if __name__ == "__main__":
    sys.exit(main())
