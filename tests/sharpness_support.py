"""Measures of detail shared by the sharpness tests: the variance of a Laplacian (high
frequencies) over an image or a part of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyvips

PHOTO = Path(__file__).parent / "assets" / "core" / "hopper.png"  # 128x128 photo


def photo() -> pyvips.Image:
    return pyvips.Image.new_from_file(str(PHOTO))


def grey(img: pyvips.Image) -> npt.NDArray[np.float64]:
    """The luma of the colour bands as floats (height, width)."""
    data = np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=(img.height, img.width, img.bands))
    colour = data[..., :3].astype(np.float64)
    return colour @ np.array([0.2126, 0.7152, 0.0722]) if colour.shape[2] == 3 else colour[..., 0]


def laplacian_variance(pixels: npt.NDArray[np.float64]) -> float:
    """High-frequency energy: the variance of the 4-neighbour Laplacian (borders left out)."""
    lap = (4 * pixels[1:-1, 1:-1] - pixels[:-2, 1:-1] - pixels[2:, 1:-1]
           - pixels[1:-1, :-2] - pixels[1:-1, 2:])
    return float(lap.var())


def detail(img: pyvips.Image, box: tuple[int, int, int, int] | None = None) -> float:
    """Laplacian variance of ``img``, or of the (left, top, width, height) box of it."""
    pixels = grey(img)
    if box is not None:
        left, top, width, height = box
        pixels = pixels[top:top + height, left:left + width]
    return laplacian_variance(pixels)
