"""imgproxy's test hashes (``testutil/vips.c``, ``testutil/dct2.c`` and ``testutil/image_hash.go``
of https://github.com/imgproxy/imgproxy, commit eef3b312, Apache-2.0), computed the same way here so
that our results can be compared with the hashes its tests store.

Its exact hash (``HashTypeSHA256``, type byte 0) is the SHA-256 of the pixels as 8-bit sRGB plus
alpha (255 where the image has none), row by row: ``pixel_digest``.

Its perceptual hash (``HashTypeDct``, type byte 1): the image (its first page; an SVG at 96 dpi)
goes to scRGB, is shrunk to fit 64x64 with Lanczos 3 (each axis on its own), is flattened onto
magenta when it has alpha and goes to Lab (L alone for a grey image); the hash is the 8x8 lowest
DCT-II coefficients of each channel.  The distance is their mean squared difference: imgproxy's
matrix test accepts up to 0.5, its colour-space tests 0.0005.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import pyvips

from imgproxy_py.imaging.codecs import load as loader

DCT_SIZE = 8
TARGET_SIZE = 64
HASH_TYPE_SHA256 = 0  # the type byte of a stored hash file
HASH_TYPE_DCT = 1


def pixel_digest(body: bytes) -> str:
    img = pyvips.Image.new_from_buffer(body, "").colourspace("srgb")
    if not img.hasalpha():
        img = img.addalpha()
    return hashlib.sha256(img.write_to_memory()).hexdigest()


def dct_hash(data: bytes) -> np.ndarray:
    img = loader.load(data, loader.detect_format(data))  # BMP and ICO through our decoders, as imgproxy's
    grey = img.interpretation in ("b-w", "grey16")
    img = img.colourspace("scrgb")
    img = img.resize(min(TARGET_SIZE / img.width, 1.0), vscale=min(TARGET_SIZE / img.height, 1.0), kernel="lanczos3")
    if img.hasalpha():
        img = img.flatten(background=[1.0, 0.0, 1.0])
    img = img.colourspace("lab")
    if grey:
        img = img.extract_band(0)
    pixels = np.ndarray(buffer=img.write_to_memory(), dtype=np.float32,
                        shape=[img.height, img.width, img.bands]).astype(np.float64)
    height, width = pixels.shape[:2]
    k = np.arange(DCT_SIZE)
    cos_x = np.cos(np.outer(k, 2 * np.arange(width) + 1) * np.pi / (2 * width))
    cos_y = np.cos(np.outer(k, 2 * np.arange(height) + 1) * np.pi / (2 * height))
    scale_x = np.where(k == 0, 1 / np.sqrt(width), np.sqrt(2 / width))
    scale_y = np.where(k == 0, 1 / np.sqrt(height), np.sqrt(2 / height))
    coefficients = np.einsum("vy,yxc,ux->cvu", cos_y, pixels, cos_x) * scale_y[None, :, None] * scale_x[None, None, :]
    return coefficients.reshape(-1).astype(np.float32)


def read_hash(path: Path) -> np.ndarray:
    """A stored DCT hash file: its type byte, a little-endian uint16 count and as many float32."""
    blob = path.read_bytes()
    if blob[0] != HASH_TYPE_DCT:
        raise ValueError(f"{path} is not a DCT hash")
    (count,) = struct.unpack("<H", blob[1:3])
    return np.frombuffer(blob[3 : 3 + 4 * count], dtype="<f4")


def read_digest(path: Path) -> str:
    """A stored SHA-256 hash file: its type byte and the 32 bytes of the digest, as hex."""
    blob = path.read_bytes()
    if blob[0] != HASH_TYPE_SHA256 or len(blob) != 33:
        raise ValueError(f"{path} is not a SHA-256 hash")
    return blob[1:].hex()


def distance(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return float("inf")
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
