"""Inputs of the ``ml`` autoquality model, measured cheaply on a small sample of the image.

The sample is a mosaic of up to 4 x 4 tiles of 64 x 64 pixels spread over the image at full
resolution (the middle of it when it is small or thin): at most 65,536 pixels whatever its size,
and at the resolution the image is saved in, which is what decides how it compresses.  Tiles
start on multiples of 8 so that JPEG's blocks fall as they do in the full image.

The sample is saved at two fixed reference qualities with libvips' saver in imgproxy's default
settings, and the DSSIM of each is measured as for the full image.  These two numbers locate the
image's own DSSIM-versus-quality curve far better than image statistics do: in a cross-validation
grouped by source photo on the training set, a network on gradient and high-frequency energy,
edge density, 8 x 8 block-variance percentiles, entropy, colourfulness and size needed about 3.4
saves per image (JPEG, qualities 10-95, targets 0.01-0.03) and did no better than the target
alone; on the two sample measurements it needs 1.6 (``train_autoquality.py --cross-validate``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyvips

from imgproxy_py.optimize.dssim import DssimMeter

INPUT_NAMES = ("log_sample_dssim_low", "log_sample_dssim_high", "log_target")

TILE = 64
GRID = 4
ALIGN = 8

# Reference qualities the sample is saved at: one low and one high, for each format's scale.
PROBE_QUALITIES: dict[str, tuple[int, int]] = {
    "jpeg": (50, 85),
    "webp": (50, 85),
    "avif": (40, 70),
    "jxl": (50, 85),
}

FloatArray = npt.NDArray[np.float64]
Saver = Callable[[pyvips.Image, int], bytes]

_DSSIM_FLOOR = 1e-6


def reference_saver(fmt: str) -> Saver:
    """libvips' saver for ``fmt`` with imgproxy's default settings (AVIF: speed 8, i.e. effort 1).

    Used for the sample and by the training script, so that the model sees the same numbers in
    both; the image itself is always saved by the server's own saver.
    """
    if fmt == "jpeg":
        return lambda image, q: bytes(image.jpegsave_buffer(Q=q, optimize_coding=True, keep="none"))
    if fmt == "webp":
        return lambda image, q: bytes(image.webpsave_buffer(Q=q, effort=4, keep="none"))
    if fmt == "avif":
        return lambda image, q: bytes(image.heifsave_buffer(Q=q, compression="av1", effort=1, keep="none"))
    if fmt == "jxl":
        return lambda image, q: bytes(image.jxlsave_buffer(Q=q, effort=4, keep="none"))
    raise ValueError(f"no reference saver for {fmt}")


def tile_boxes(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(left, top, width, height) of the sampled tiles: an even grid, or one central piece."""
    if width < 2 * TILE or height < 2 * TILE:
        # Small or thin: the middle of it, at most as long as the grid would be.
        piece_width, piece_height = min(width, GRID * TILE), min(height, GRID * TILE)
        left = (width - piece_width) // 2 // ALIGN * ALIGN
        top = (height - piece_height) // 2 // ALIGN * ALIGN
        return [(left, top, piece_width, piece_height)]
    columns = min(GRID, width // TILE)
    rows = min(GRID, height // TILE)
    return [(_spread(i, columns, width), _spread(j, rows, height), TILE, TILE)
            for j in range(rows) for i in range(columns)]


def _spread(index: int, count: int, extent: int) -> int:
    last = (extent - TILE) // ALIGN * ALIGN
    if count == 1:
        return last // 2 // ALIGN * ALIGN
    return round(index * last / (count - 1)) // ALIGN * ALIGN


def sample_mosaic(image: pyvips.Image) -> pyvips.Image:
    """The tiles of :func:`tile_boxes` joined into one image (of the first frame if animated)."""
    boxes = tile_boxes(image.width, _page_height(image))
    tiles = [image.crop(left, top, width, height) for left, top, width, height in boxes]
    columns = len({left for left, _, _, _ in boxes})
    sample = tiles[0] if len(tiles) == 1 else pyvips.Image.arrayjoin(tiles, across=columns)
    # One still picture: drop the frame layout the crops inherited.
    sample = sample.copy()
    if "page-height" in sample.get_fields():
        sample.remove("page-height")
    return sample


def _page_height(image: pyvips.Image) -> int:
    if "page-height" in image.get_fields():
        page_height = int(image.get("page-height"))
        if 0 < page_height <= image.height:
            return int(page_height)
    return int(image.height)


def sample_dssims(image: pyvips.Image, fmt: str) -> tuple[float, float]:
    """DSSIM of the sample saved at the format's two reference qualities."""
    sample = sample_mosaic(image).copy_memory()
    meter = DssimMeter(sample)
    save = reference_saver(fmt)
    low, high = PROBE_QUALITIES[fmt]
    return meter.measure(save(sample, low)), meter.measure(save(sample, high))


def model_inputs(sample: tuple[float, float], target: float) -> FloatArray:
    """The model's input row, named by :data:`INPUT_NAMES`."""
    low, high = sample
    return np.array([
        math.log(max(low, _DSSIM_FLOOR)), math.log(max(high, _DSSIM_FLOOR)),
        math.log(max(target, _DSSIM_FLOOR)),
    ])
