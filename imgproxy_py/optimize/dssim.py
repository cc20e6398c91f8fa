"""DSSIM between the image about to be saved and its encoded-then-decoded copy.

Definition (what ``IMGPROXY_AUTOQUALITY_TARGET`` means for the ``dssim`` and ``ml`` methods):

    DSSIM = (1 - SSIM) / 2

the structural dissimilarity of imgproxy's documentation, with SSIM from scikit-image's
``structural_similarity`` as Wang et al. (2004) define it: a Gaussian window with sigma 1.5
(11 x 11 pixels), K1 = 0.01, K2 = 0.03, population covariances, data range 1.  It is computed
on one plane, the BT.601 luma ``Y' = 0.299 R' + 0.587 G' + 0.114 B'`` of the gamma-encoded sRGB
pixels scaled to [0, 1] (grey images use their single band).  Luma is what lossy codecs spend
most of their bits on and where the eye sees artefacts; it also keeps one measurement cheap.
Images with alpha are compared premultiplied (luma times alpha), so that colour hidden under
transparent pixels does not count and changes to alpha do.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyvips

from imgproxy_py.imaging.vips import memory_copy, pixel_array, watched

SSIM_SIGMA = 1.5
# scikit-image's Gaussian window is 2 * int(3.5 * sigma + 0.5) + 1 pixels wide.
SSIM_WINDOW = 2 * int(3.5 * SSIM_SIGMA + 0.5) + 1
# SSIM is averaged over the pixels whose whole window lies in the image (scikit-image crops
# this many from each side of its map), so a strip's map needs only this many rows around it.
_MARGIN = (SSIM_WINDOW - 1) // 2
# Pixels measured at a time: a whole 96 MP result in one piece took 6 GB (a dozen float
# planes of it); a strip's planes take a few MB each, and the deadline is checked between them.
STRIP_PIXELS = 1 << 20

LumaPlane = npt.NDArray[np.float32]

_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma_plane(image: pyvips.Image) -> LumaPlane:
    """The plane DSSIM is measured on: luma in [0, 1], premultiplied by alpha when there is alpha."""
    pixels: npt.NDArray[np.float32] = pixel_array(_as_srgb_or_grey_uchar(image)).astype(np.float32) / 255.0
    bands = pixels.shape[2]
    if bands >= 3:
        luma = pixels[:, :, :3] @ _LUMA_WEIGHTS
        alpha = pixels[:, :, 3] if bands >= 4 else None
    else:
        luma = pixels[:, :, 0]
        alpha = pixels[:, :, 1] if bands == 2 else None
    if alpha is not None:
        luma = luma * alpha
    return np.ascontiguousarray(luma, dtype=np.float32)


def _as_srgb_or_grey_uchar(image: pyvips.Image) -> pyvips.Image:
    grey = image.interpretation in ("b-w", "grey16") or image.bands in (1, 2)
    target = "b-w" if grey else "srgb"
    if image.interpretation != target:
        try:
            image = image.colourspace(target)
        except pyvips.Error:
            # "multiband" and other tags vips cannot convert from: take the bands as they are.
            image = image.copy(interpretation=target)
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def dssim_between(reference: LumaPlane, candidate: LumaPlane) -> float:
    """DSSIM of two luma planes; the larger one is cropped to the common area."""
    height = min(reference.shape[0], candidate.shape[0])
    width = min(reference.shape[1], candidate.shape[1])
    ssim = float(np.mean(_ssim_map(_pad_to_window(reference[:height, :width]),
                                   _pad_to_window(candidate[:height, :width]))))
    return max(0.0, (1.0 - ssim) / 2.0)


def _ssim_map(first: LumaPlane, second: LumaPlane) -> npt.NDArray[np.float64]:
    """scikit-image's SSIM map of the two planes, less the margin it leaves out of its mean."""
    # Imported here: scikit-image takes a good part of a second to import, and only autoquality
    # needs it.
    from skimage.metrics import structural_similarity

    _, full = structural_similarity(  # type: ignore[no-untyped-call]  # scikit-image ships no types for it
        first, second, data_range=1.0, gaussian_weights=True, sigma=SSIM_SIGMA,
        use_sample_covariance=False, full=True,
    )
    return np.asarray(full[_MARGIN:-_MARGIN, _MARGIN:-_MARGIN], dtype=np.float64)


def dssim_of_images(reference: pyvips.Image, candidate: pyvips.Image,
                    check_deadline: Callable[[], None] = lambda: None) -> float:
    """:func:`dssim_between` the two images' luma planes, read a strip of rows at a time: the
    same SSIM map, each row of it computed once from the rows its window covers."""
    height = min(reference.height, candidate.height)
    width = min(reference.width, candidate.width)
    rows = max(1, STRIP_PIXELS // width)
    if height <= rows + 2 * _MARGIN or width <= 2 * _MARGIN:  # one strip: the whole image
        return dssim_between(luma_plane(reference), luma_plane(candidate))
    total, count = 0.0, 0
    for top in range(_MARGIN, height - _MARGIN, rows):  # the map's rows [top, bottom)
        check_deadline()
        bottom = min(top + rows, height - _MARGIN)
        start, stop = top - _MARGIN, bottom + _MARGIN  # the rows their windows read
        first = luma_plane(reference.crop(0, start, width, stop - start))
        second = luma_plane(candidate.crop(0, start, width, stop - start))
        strip = _ssim_map(first, second)
        total += float(strip.sum())
        count += strip.size
    return max(0.0, (1.0 - total / count) / 2.0)


def _pad_to_window(plane: LumaPlane) -> LumaPlane:
    # The SSIM window must fit; tiny images (favicons, 1-pixel spacers) are mirrored outwards.
    pad_y = max(0, SSIM_WINDOW - plane.shape[0])
    pad_x = max(0, SSIM_WINDOW - plane.shape[1])
    if pad_y == 0 and pad_x == 0:
        return plane
    return np.pad(plane, ((0, pad_y), (0, pad_x)), mode="symmetric")


class DssimMeter:
    """Measures encoded buffers against one reference image; the reference plane is made once."""

    def __init__(self, reference: pyvips.Image, max_resolution: int = 0,
                 decode: Callable[[bytes], pyvips.Image] | None = None,
                 check_deadline: Callable[[], None] = lambda: None) -> None:
        # ``decode``: for results libvips can't read back (HEIC, JPEG XL: their wheels do).
        self._decode_with = decode
        self._check_deadline = check_deadline
        # Above ``max_resolution`` pixels both sides are compared on a downscaled copy
        # (IMGPROXY_AUTOQUALITY_MAX_RESOLUTION): SSIM's cost grows with the pixel count.
        pixels = reference.width * reference.height
        self.scale = math.sqrt(max_resolution / pixels) if 0 < max_resolution < pixels else 1.0
        self._pages = _page_count(reference)
        # In memory (unless it already is, as given): its strips are read for every measurement.
        prepared = _as_srgb_or_grey_uchar(self._shrink(reference))
        self.reference = prepared if prepared is reference else memory_copy(prepared)

    def _shrink(self, image: pyvips.Image) -> pyvips.Image:
        return image if self.scale == 1.0 else image.resize(self.scale)

    def measure(self, encoded: bytes) -> float:
        return self.measure_image(self._decode(encoded))

    def measure_image(self, decoded: pyvips.Image) -> float:
        return dssim_of_images(self.reference, self._shrink(decoded), self._check_deadline)

    def _decode(self, encoded: bytes) -> pyvips.Image:
        if self._decode_with is not None:
            return watched(self._decode_with(encoded))
        if self._pages > 1:
            # Animated WebP/AVIF: compare every frame, as the reference holds all of them.
            try:
                return watched(pyvips.Image.new_from_buffer(encoded, "", n=-1))
            except pyvips.Error:
                pass  # a still format (JPEG) took only one frame
        return watched(pyvips.Image.new_from_buffer(encoded, ""))


def _page_count(image: pyvips.Image) -> int:
    if "page-height" not in image.get_fields():
        return 1
    page_height = int(image.get("page-height"))
    if page_height <= 0 or image.height % page_height:
        return 1
    return int(image.height // page_height)
