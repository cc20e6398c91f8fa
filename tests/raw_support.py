"""Helpers shared by the RAW tests: the DNG, little TIFFs built byte by byte, pixels as arrays."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pyvips

ASSETS = Path(__file__).parent / "assets"
DNG = ASSETS / "media" / "astronaut_bayer.dng"


def tiff_file(entries: list[tuple[int, int, int, bytes]], *, order: str = "<", extra: bytes = b"") -> bytes:
    """A little TIFF: header, IFD0 at offset 8 with ``(tag, type, count, value)`` entries, then ``extra``.

    Values longer than 4 bytes go after the IFD (their offsets are filled in).
    """
    head = b"II*\x00" if order == "<" else b"MM\x00*"
    ifd_size = 2 + 12 * len(entries) + 4
    tail = b""
    body = struct.pack(order + "H", len(entries))
    for tag, kind, count, value in entries:
        if len(value) <= 4:
            body += struct.pack(order + "HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            body += struct.pack(order + "HHII", tag, kind, count, 8 + ifd_size + len(tail))
            tail += value
    return head + struct.pack(order + "I", 8) + body + b"\0\0\0\0" + tail + extra


def pixels_of(image: pyvips.Image) -> np.ndarray:
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))
