"""JPEG decoded whole by simplejpeg, for the loads that read every pixel at once.

libvips' ``jpegload`` and simplejpeg both drive libjpeg-turbo with the same settings (accurate
integer DCT, smooth chroma upsampling) and give the same pixels, but simplejpeg's one call over
the whole image costs 14-18% less CPU at the DCT scales shrink-on-load uses (1/4, 1/8) than
libvips' line-by-line decode (``python benchmarks/codec_costs.py``; 2-7% of a whole thumbnail,
whose resize reads a streaming decode from cache), and the decode is most of the CPU of a
thumbnail from a camera JPEG.  libvips keeps everything else: the header (size,
orientation, profile, EXIF: copied onto the result), progressive files, CMYK and other colour
models, files that libjpeg-turbo warns about (truncated, corrupt: libvips' own tolerance
applies), and decodes too large to hold in memory, which libvips streams.
"""

from __future__ import annotations

import numpy as np
import pyvips
import simplejpeg

from imgproxy_py.imaging.vips import int_field

# The largest decode held whole in memory: 8 MP is 24 MB of RGB per worker slot.  A larger one
# (a 50 MP source shrunk by only 2) streams through libvips instead.
MAX_PIXELS = 8_000_000

# What simplejpeg is asked for, by the colour model libjpeg-turbo reports: the same bands libvips
# gives.  CMYK, YCCK (inverted by Adobe's convention) and untransformed RGB stay with libvips.
_OUTPUT = {"YCbCr": ("RGB", 3), "Gray": ("GRAY", 1)}

# Header fields that describe the image itself (set by ``new_from_memory``/``copy``) or libvips'
# access to the file: not carried onto an image in memory.
_OWN_FIELDS = frozenset({"width", "height", "bands", "format", "coding", "interpretation", "xoffset", "yoffset",
                         "xres", "yres", "filename", "vips-sequential"})


def decode_whole(data: bytes, header: pyvips.Image, shrink: int) -> pyvips.Image | None:
    """``header`` (libvips' lazy load of ``data`` at DCT factor ``shrink``) decoded in memory
    by simplejpeg, its metadata carried over; None where libvips should decode instead."""
    # Undecimated, the whole decode saves little (5% of a resize from 1600 or 3200 pixels wide)
    # for the memory it holds.
    if shrink < 2 or header.format != "uchar" or header.width * header.height > MAX_PIXELS:
        return None
    # Progressive files stay with libvips, as before: a crafted one can hold thousands of scans
    # that each pass over the whole image (libjpeg-turbo's "LJT-01-003"); this path adds no new
    # way for such a file to cost more.
    if int_field(header, "jpeg-multiscan", 1) != 0:
        return None
    try:
        _, _, colour_model, _ = simplejpeg.decode_jpeg_header(data)
        output = _OUTPUT.get(colour_model)
        if output is None or output[1] != header.bands:
            return None
        pixels = simplejpeg.decode_jpeg(data, colorspace=output[0], min_factor=shrink, min_width=header.width,
                                        min_height=header.height, strict=True)
    except ValueError:  # anything libjpeg-turbo warns about: libvips decides what to make of it
        return None
    height, width = pixels.shape[:2]
    # libjpeg-turbo rounds a scaled size up, libvips down (and drops the last row or column).
    if not (0 <= height - header.height <= 1 and 0 <= width - header.width <= 1):
        return None  # another DCT scale than libvips': its size wins
    img = pyvips.Image.new_from_memory(np.ascontiguousarray(pixels).data, width, height, header.bands, "uchar")
    if (width, height) != (header.width, header.height):
        img = img.crop(0, 0, header.width, header.height)
    img = img.copy(interpretation=header.interpretation, xres=header.xres, yres=header.yres)
    for name in header.get_fields():
        if name not in _OWN_FIELDS:
            img.set_type(header.get_typeof(name), name, header.get(name))
    return img
