"""PDF sources through pypdfium2 (PDFium): pages rendered at 72 dpi (one pixel a point, as
libvips' pdfload), on white unless ``IMGPROXY_PDF_NO_BACKGROUND``.

Only rendering happens: forms are never initialised, so no JavaScript runs, and PDFium fetches
nothing from outside the file.  The page's size is read before rendering and checked against
the resolution limit, so a page of 100000 x 100000 points is refused without allocating it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvips

from imgproxy_py.imaging.codecs import wheels
from imgproxy_py.imaging.codecs.dib_header import ImageDecodeError

# Points are 1/72 inch; libvips' pdfload renders at 72 dpi by default.
BASE_SCALE = 1.0


def page_sizes(pdf: Any, first: int, count: int, scale: float) -> list[tuple[int, int]]:
    sizes = []
    for index in range(first, first + count):
        width, height = pdf.get_page_size(index)
        sizes.append((max(1, round(width * scale)), max(1, round(height * scale))))
    return sizes


def load_pdf(data: bytes, *, max_pixels: int, page: int = 0, pages: int = 1, shrink: float = 1.0,
             no_background: bool = False, header_only: bool = False, **_: Any) -> pyvips.Image:
    """Pages ``page`` to ``page + pages - 1`` stacked top to bottom, left-aligned (imgproxy's
    ``pages``); ``shrink`` > 1 renders them smaller.  ``header_only``: a blank image of that
    size, for ``/info``, nothing rendered."""
    pdfium = wheels.require("pdf")
    try:
        pdf = pdfium.PdfDocument(data)
    except (pdfium.PdfiumError, ValueError, OSError) as exc:
        raise ImageDecodeError(f"PDF: {exc}") from exc
    try:
        total = len(pdf)
        if page >= total:
            raise ImageDecodeError(f"page {page} does not exist")
        count = max(1, min(pages, total - page))
        scale = BASE_SCALE / shrink if shrink > 1 else BASE_SCALE
        sizes = page_sizes(pdf, page, count, scale)
        width, height = max(w for w, _ in sizes), sum(h for _, h in sizes)
        if max_pixels and width * height > max_pixels:
            raise ImageDecodeError(f"source resolution {width}x{height} exceeds the limit")
        if header_only:
            return wheels.attach_metadata(pyvips.Image.black(width, height), pages=total)
        canvas = np.zeros((height, width, 4), dtype=np.uint8)
        if not no_background:
            canvas[:, :, :] = 255
        top = 0
        for index, (w, h) in zip(range(page, page + count), sizes, strict=True):
            fill = (255, 255, 255, 0) if no_background else (255, 255, 255, 255)
            bitmap = pdf[index].render(scale=scale, may_draw_forms=False, fill_color=fill, rev_byteorder=True,
                                       force_bitmap_format=pdfium.raw.FPDFBitmap_BGRA)
            rendered = bitmap.to_numpy()[:h, :w]
            canvas[top:top + rendered.shape[0], :rendered.shape[1]] = rendered
            top += h
    except pdfium.PdfiumError as exc:
        raise ImageDecodeError(f"PDF: {exc}") from exc
    finally:
        pdf.close()
    pixels = canvas if no_background else canvas[:, :, :3]
    # The stacked pages are one picture: no page-height, so nothing treats them as frames.
    return wheels.attach_metadata(wheels.to_vips(pixels), pages=total)
