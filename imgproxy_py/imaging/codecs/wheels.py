"""Codecs that come from optional wheels (HEIC through pillow-heif, JPEG XL through
imagecodecs, PDF through pypdfium2), decoded into libvips images so the rest of the pipeline
does not know where the pixels came from.

Each wheel is imported only when a source or result needs it; a missing one is a 501 naming
the extra that installs it.  Pixels cross over as numpy arrays: ``to_vips`` and ``from_vips``.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

import numpy as np
import pyvips

from imgproxy_py.errors import FeatureUnavailableError
from imgproxy_py.imaging.vips import ICC_PROFILE_FIELD

# The Python package each wheel codec imports, and the extra of ours that installs it.
WHEEL_EXTRA = "formats"
_MODULES = {"heic": "pillow_heif", "jxl": "imagecodecs", "pdf": "pypdfium2"}

_VIPS_FORMAT = {np.dtype(np.uint8): "uchar", np.dtype(np.uint16): "ushort", np.dtype(np.float32): "float"}
_NUMPY_DTYPE = {"uchar": np.uint8, "ushort": np.uint16, "float": np.float32}


def installed(codec: str) -> bool:
    return importlib.util.find_spec(_MODULES[codec]) is not None


def require(codec: str) -> ModuleType:
    """The wheel's module, imported now; a 501 when the extra is not installed."""
    name = _MODULES[codec]
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise FeatureUnavailableError(
            f"{codec} needs {name}: install imgproxy-py[{WHEEL_EXTRA}]") from exc


def to_vips(pixels: np.ndarray[Any, Any]) -> pyvips.Image:
    """A height x width (x bands) array as a libvips image: sRGB or grey, 8 or 16 bits."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    height, width, bands = pixels.shape
    fmt = _VIPS_FORMAT[pixels.dtype]
    # The array itself, not a bytes copy of it: libvips keeps a reference for the image's life.
    img = pyvips.Image.new_from_memory(np.ascontiguousarray(pixels).data, width, height, bands, fmt)
    sixteen = fmt == "ushort"
    if bands < 3:
        return img.copy(interpretation="grey16" if sixteen else "b-w")
    return img.copy(interpretation="rgb16" if sixteen else "srgb")


def from_vips(img: pyvips.Image, *, sixteen: bool) -> np.ndarray[Any, Any]:
    """The image's pixels as an array of 8 (or, with ``sixteen``, 16) bits a sample, sRGB or
    grey as it is, alpha kept."""
    grey = img.bands in (1, 2) and img.interpretation in ("b-w", "grey16")
    if sixteen:
        if img.format != "ushort" or img.interpretation not in ("rgb16", "grey16"):
            img = img.colourspace("grey16" if grey else "rgb16")
    elif img.format != "uchar" or img.interpretation not in ("srgb", "b-w"):
        img = img.colourspace("b-w" if grey else "srgb")
        if img.format != "uchar":
            img = img.cast("uchar")
    dtype = _NUMPY_DTYPE[img.format]
    flat = np.frombuffer(img.write_to_memory(), dtype=dtype)
    return flat.reshape(img.height, img.width, img.bands)


def attach_metadata(img: pyvips.Image, *, icc: bytes | None = None, exif: bytes | None = None,
                    pages: int = 1) -> pyvips.Image:
    """Set what libvips' own loaders would: the ICC profile, the EXIF block, the page count."""
    img = img.copy()
    if icc:
        img.set_type(pyvips.GValue.blob_type, ICC_PROFILE_FIELD, icc)
    if exif:
        if not exif.startswith(b"Exif\x00\x00"):
            exif = b"Exif\x00\x00" + exif
        img.set_type(pyvips.GValue.blob_type, "exif-data", exif)
    img.set_type(pyvips.GValue.gint_type, "n-pages", max(1, pages))
    return img


def blob(img: pyvips.Image, field: str) -> bytes | None:
    if not img.get_typeof(field):
        return None
    return bytes(img.get(field))
