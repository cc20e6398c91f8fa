"""Sources that libvips cannot read by itself: video frames (PyAV) and camera RAW files (ImageMagick).

``video`` picks one frame of a video as the image to process, ``bestframe`` ranks sampled frames
for a representative thumbnail, and ``raw`` decodes RAW files in a separate, resource-limited
worker process.  This package's ``__init__`` stays free of heavy imports because the RAW worker
process imports it too.
"""

from __future__ import annotations

import re

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_byte_size(text: str) -> int:
    """``"256MiB"``, ``"1.5GB"`` or a plain number of bytes; raises ``ValueError`` with a reason."""
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size (use bytes or a unit such as 256MiB or 1GB)")
    number, unit = match.groups()
    factor = _SIZE_UNITS.get(unit.lower())
    if factor is None:
        raise ValueError(f"{text!r} has an unknown unit {unit!r}")
    return int(float(number) * factor)
