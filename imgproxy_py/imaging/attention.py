"""libvips' attention measure (``vips_smartcrop`` with ``interesting=attention``, what imgproxy's plain
``g:sm`` runs), computed as libvips computes it, with the arithmetic on its small map in numpy.

libvips (``conversion/smartcrop.c``) premultiplies an alpha, shrinks the image to a 32x32 map,
converts it to XYZ and Lab, scores each pixel by edges (a Laplacian of Y, times 5, absolute), skin
tone (100 minus 100 times the distance of the unit XYZ vector from smartcrop.js' skin vector) and
saturation (Lab's a*), the last two only where Y > 5, blurs the sum with a Gaussian whose sigma
follows the window's size, and centres the window on the maximum. On a 32x32 map those are some
twenty libvips operations, and each one pays its set-up and a pass through libvips' threads
whatever the map's size: 6-10 ms of CPU per crop, about a fifth of a whole fill-and-smart-crop
request. Here libvips still premultiplies, shrinks and converts the colours (every format and
interpretation goes through the same code as before) and numpy does the rest on 1024 pixels,
step for step in the same number types and order as libvips' C loops, so the window is the one
libvips picks (``tests/test_attention.py`` compares them on photos, alpha, grey, 16-bit and float
images at random sizes): 4.1 against 9.2 CPU ms at 300x225 (``python benchmarks/codec_costs.py
--smart-crop``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pyvips

MAP_SIZE = 32.0  # libvips shrinks to this: it sets how precisely the window is placed
SKIN_VECTOR = (-0.78, -0.57, -0.44)  # from smartcrop.js, added to the unit XYZ vector
DARK_Y = 5.0  # skin and saturation count only where Y (0-100) is above this
GAUSS_MIN_AMPLITUDE = 0.2  # vips_gaussblur's default

Map = npt.NDArray[np.floating]


def attention_point(img: pyvips.Image, width: int, height: int) -> tuple[int, int]:
    """The point of ``img`` that libvips' attention measure finds for a ``width`` x ``height``
    window (its ``attention_x`` and ``attention_y``)."""
    hscale = MAP_SIZE / img.width
    vscale = MAP_SIZE / img.height
    sigma = max(math.hypot(width * hscale, height * vscale) / 10, 1.0)
    source = img.premultiply() if img.hasalpha() else img
    xyz = source.resize(hscale, vscale=vscale).colourspace("xyz").extract_band(0, n=3)
    # One evaluation of libvips for the map's X, Y, Z and a*; double stays double, as in libvips.
    bands = xyz.bandjoin(xyz.colourspace("lab").extract_band(1))
    if bands.format not in ("float", "double"):
        bands = bands.cast("float")
    dtype = np.float64 if bands.format == "double" else np.float32
    pixels = np.ndarray(buffer=bands.write_to_memory(), dtype=dtype, shape=(bands.height, bands.width, 4))
    scores = _blurred(_scores(pixels[..., :3], pixels[..., 3]), sigma)
    y_pos, x_pos = divmod(int(np.argmax(scores)), scores.shape[1])  # the first maximum, as vips_max's scan
    return int(x_pos / hscale), int(y_pos / vscale)


def attention_window(img: pyvips.Image, width: int, height: int) -> tuple[int, int]:
    """The left and top of the ``width`` x ``height`` window that ``img.smartcrop(width, height,
    interesting="attention")`` cuts: centred on the attention point, kept inside the image."""
    x, y = attention_point(img, width, height)
    return min(max(0, x - width // 2), img.width - width), min(max(0, y - height // 2), img.height - height)


def _magnitude(vectors: Map) -> Map:
    """smartcrop.c's ``pythagoras``: squares and their sum in the image's type, the root in double."""
    squares = vectors * vectors
    total = squares[..., 0] + squares[..., 1] + squares[..., 2]
    return np.sqrt(total.astype(np.float64)).astype(vectors.dtype)


def _scores(xyz: Map, a_star: Map) -> Map:
    dtype = xyz.dtype
    luminance = xyz[..., 1]
    # vips_conv with a 3x3 Laplacian, edges copied outwards: the terms summed in double in the
    # mask's order (above, left, centre, right, below), then stored.
    padded = np.pad(luminance.astype(np.float64), 1, mode="edge")
    laplacian = (-padded[:-2, 1:-1] - padded[1:-1, :-2] + 4 * padded[1:-1, 1:-1] - padded[1:-1, 2:]
                 - padded[2:, 1:-1]).astype(dtype)
    edges = np.abs(dtype.type(5.0) * laplacian)
    length = _magnitude(xyz)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(length == 0, dtype.type(0), xyz / length).astype(dtype)  # vips_divide: x/0 is 0
    # A linear with one constant per band computes in double; with one constant, in the image's type.
    from_skin = _magnitude((unit.astype(np.float64) + np.array(SKIN_VECTOR)).astype(dtype))
    skin = dtype.type(-100.0) * from_skin + dtype.type(100.0)
    lit = luminance > DARK_Y
    zero = dtype.type(0)
    return (edges + np.where(lit, skin, zero)) + np.where(lit, a_star, zero)


def _gaussian_mask(sigma: float) -> tuple[npt.NDArray[np.float64], float]:
    """vips_gaussmat's separable integer mask (20 at the centre) and its scale (the sum)."""
    two_sigma_squared = 2.0 * sigma * sigma
    half = 0
    while half < int(8 * sigma) and math.exp(-(half * half) / two_sigma_squared) >= GAUSS_MIN_AMPLITUDE:
        half += 1
    offsets = np.arange(2 * max(half - 1, 0) + 1, dtype=np.float64)
    offsets -= len(offsets) // 2
    mask = np.rint(20 * np.exp(-(offsets * offsets) / two_sigma_squared))
    return mask, float(mask.sum()) or 1.0


def _convolve_rows(values: Map, mask: npt.NDArray[np.float64], scale: float) -> Map:
    """One pass of vips_convsep: edges copied outwards, the products summed left to right in
    double, divided by the scale and stored in the image's type."""
    reach = len(mask) // 2
    padded = np.pad(values.astype(np.float64), ((0, 0), (reach, reach)), mode="edge")
    total = np.zeros(values.shape, dtype=np.float64)
    columns = values.shape[1]
    for i, weight in enumerate(mask):
        if weight:
            total += weight * padded[:, i:i + columns]
    return (total / scale).astype(values.dtype)


def _blurred(scores: Map, sigma: float) -> Map:
    mask, scale = _gaussian_mask(sigma)
    across = _convolve_rows(scores, mask, scale)
    return _convolve_rows(across.T, mask, scale).T
