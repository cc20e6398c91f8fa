"""Hashes: BlurHash (``blurhash-python``), ThumbHash (``thash``), the DCT perceptual hash
(``imagehash``) and the source file's digests (``hashlib``)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from imgproxy_py.errors import HashsumMismatchError

Rgba = np.ndarray[Any, np.dtype[np.uint8]]
BLURHASH_SIDE = 64  # BlurHash keeps only the lowest frequencies: a small image gives the same hash
THUMBHASH_SIDE = 100  # ThumbHash's own limit


def _pil(rgba: Rgba, mode: str) -> Any:
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(rgba[..., :3] if mode == "RGB" else rgba), mode)


def blurhash(rgba: Rgba, x_components: int, y_components: int) -> str:
    import blurhash as blurhash_lib

    return str(blurhash_lib.encode(_pil(rgba, "RGB"), x_components, y_components))


def thumb_hash(rgba: Rgba) -> str:
    from thash import rgba_to_thumb_hash  # its NumPy encoder: 1.4 ms at 100x100, where pure Python took 39

    height, width = rgba.shape[:2]
    return bytes(rgba_to_thumb_hash(width, height, rgba.reshape(-1).tolist())).hex().upper()


def perceptual_hash(rgba: Rgba) -> str:
    import imagehash

    return str(imagehash.phash(_pil(rgba, "RGB")))


def hashsums(data: bytes, kinds: tuple[str, ...]) -> dict[str, str]:
    return {kind: hashlib.new(kind, data).hexdigest() for kind in dict.fromkeys(kinds)}


def check_hashsum(data: bytes, kind: str, expected: str) -> None:
    if kind == "none":
        return
    if hashlib.new(kind, data).hexdigest() != expected:
        raise HashsumMismatchError(f"the source's {kind} hashsum is not {expected}")
