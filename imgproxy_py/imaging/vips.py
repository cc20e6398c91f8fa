"""The libvips calls that several parts of the pipeline make, typed and in one place.

pyvips is untyped and its metadata is a bag of named fields; these helpers give the fields the
pipeline relies on (page height and count, EXIF orientation, the ICC profile) one meaning, and
hold the kill guard that stops libvips when a request's time is up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import numpy.typing as npt
import pyvips

from imgproxy_py.deadline import Deadline
from imgproxy_py.imaging.kill_switch import enforced

ICC_PROFILE_FIELD = "icc-profile-data"
ORIENTATION_FIELD = "orientation"
PAGE_HEIGHT_FIELD = "page-height"
PAGES_FIELD = "n-pages"


def int_field(img: pyvips.Image, name: str, default: int) -> int:
    """An integer metadata field, or ``default`` when the image doesn't have it."""
    return int(img.get(name)) if img.get_typeof(name) else default


def without_fields(img: pyvips.Image, *names: str) -> pyvips.Image:
    """``img`` without these metadata fields; a copy only when one of them is there (libvips
    images are shared, so fields are removed from a copy, never from the original)."""
    present = [name for name in names if img.get_typeof(name)]
    if not present:
        return img
    img = img.copy()
    for name in present:
        img.remove(name)
    return img


def page_height(img: pyvips.Image) -> int:
    """The height of one frame: animations and multi-page images are stacked vertically."""
    height = int_field(img, PAGE_HEIGHT_FIELD, 0)
    total: int = img.height
    if 0 < height < total and total % height == 0:
        return height
    return total


def page_count(img: pyvips.Image) -> int:
    """How many pages the source has (not how many were loaded)."""
    return max(1, int_field(img, PAGES_FIELD, 1))


def orientation(img: pyvips.Image) -> int:
    """The EXIF orientation (1-8); 1 (upright) when absent or out of range."""
    try:
        value = int_field(img, ORIENTATION_FIELD, 1)
    except (pyvips.Error, ValueError, TypeError):
        return 1
    return value if 1 <= value <= 8 else 1


def pixel_array(img: pyvips.Image) -> npt.NDArray[Any]:
    """The pixels as a (height, width, bands) array, whatever the size: pyvips' ``numpy()`` drops
    the axes of length 1 from a one-band image (a 1x1 grey image comes back with no axis at all)."""
    return np.asarray(img.numpy()).reshape(img.height, img.width, img.bands)


def has_alpha(img: pyvips.Image) -> bool:
    return bool(img.hasalpha())


def ensure_alpha(img: pyvips.Image) -> pyvips.Image:
    """The image with an opaque alpha band: 255, or 65535 for RGB16 and grey16."""
    return img if has_alpha(img) else img.addalpha()


def resize(img: pyvips.Image, wscale: float, hscale: float, kernel: str = "lanczos3") -> pyvips.Image:
    """libvips resize with this kernel (imgproxy's default lanczos3), premultiplied so that
    transparent pixels don't bleed.  As imgproxy does it: the premultiplied pixels go back to
    the image's format before the resize, so its results are matched to the bit."""
    if has_alpha(img):
        fmt = img.format
        out = img.premultiply().cast(fmt).resize(wscale, vscale=hscale, kernel=kernel).unpremultiply()
        return out.cast(fmt)
    return img.resize(wscale, vscale=hscale, kernel=kernel)


def apply_embedded_profile(img: pyvips.Image, depth: int = 8) -> pyvips.Image:
    """The image with its embedded ICC profile applied (to sRGB, at ``depth`` bits) and removed;
    unchanged when it has none."""
    if img.get_typeof(ICC_PROFILE_FIELD):
        try:
            img = img.icc_transform("srgb", embedded=True, intent="perceptual", depth=depth)
        except pyvips.Error:
            # A broken embedded profile: fall back to the interpretation libvips guessed.
            img = img.copy()
        img = img.copy()
        img.remove(ICC_PROFILE_FIELD)
    return img


def to_srgb(img: pyvips.Image) -> pyvips.Image:
    """Any decoded image as 8-bit sRGB (3 bands, or 4 with alpha), profile applied."""
    img = apply_embedded_profile(img)
    if img.interpretation not in ("srgb",) or img.bands < 3:
        img = img.colourspace("srgb")
    if img.format != "uchar":
        img = img.cast("uchar") if img.format in ("char", "short", "int") else img.colourspace("srgb")
        if img.format != "uchar":
            img = img.cast("uchar")
    if img.bands > 4:
        img = img.extract_band(0, n=4)
    return img


def is_high_bit(img: pyvips.Image) -> bool:
    """More than 8 bits a sample (16-bit, float), or labelled so."""
    return img.format not in ("uchar", "char") or img.interpretation in ("rgb16", "grey16", "scrgb")


def to_high_bit(img: pyvips.Image) -> pyvips.Image:
    """RGB16 or grey16 (alpha kept), the embedded profile applied at 16 bits."""
    img = apply_embedded_profile(img, depth=16)
    grey = img.bands in (1, 2) and img.interpretation in ("b-w", "grey16")
    target = "grey16" if grey else "rgb16"
    if img.interpretation != target or img.format != "ushort":
        img = img.colourspace(target)
        if img.format != "ushort":
            img = img.cast("ushort")
    return img


def to_overlay_space(img: pyvips.Image) -> pyvips.Image:
    """A decoded overlay (a watermark) in a space it composites from without loss, as imgproxy
    keeps it: 16-bit as RGB16 or grey16, 8-bit grey without a profile as it is, else 8-bit sRGB."""
    if is_high_bit(img):
        return to_high_bit(img)
    if img.interpretation == "b-w" and img.bands in (1, 2) and not img.get_typeof(ICC_PROFILE_FIELD):
        return img
    return to_srgb(img)


class _Guard:
    """The images a guarded block computes: its view of the image, and the copies of it made
    in memory there (a new image, which the view's kill flag does not reach)."""

    def __init__(self, view: pyvips.Image) -> None:
        self.images = [view]
        self.stopped = False

    def stop(self) -> None:  # on the kill switch's thread
        self.stopped = True
        for img in list(self.images):
            img.set_kill(True)

    def adopt(self, img: pyvips.Image) -> pyvips.Image:
        self.images.append(img)
        if self.stopped:  # stopped while the copy was made, after its last region was read
            img.set_kill(True)
        return img


_GUARD: ContextVar[_Guard | None] = ContextVar("libvips_guard", default=None)


@contextmanager
def guarded(img: pyvips.Image, deadline: Deadline) -> Iterator[pyvips.Image]:
    """A view of ``img`` whose computations libvips stops once the request's time is up, or its
    client has left, while the block runs; so are those of its copies made with
    :func:`memory_copy` in the block.

    libvips then raises; ``imaging.pipeline.process_image`` turns that into the deadline's 503
    (499 for a client that left).
    """
    guard = _Guard(img.copy())
    token = _GUARD.set(guard)
    try:
        with enforced(deadline, guard.stop):
            yield guard.images[0]
    finally:
        _GUARD.reset(token)


def watched(img: pyvips.Image) -> pyvips.Image:
    """``img``, a new image made in a guarded block (a memory copy, a result decoded again): its
    computations stop at the deadline too."""
    guard = _GUARD.get()
    return guard.adopt(img) if guard is not None else img


def memory_copy(img: pyvips.Image) -> pyvips.Image:
    """``img.copy_memory()``, for an image encoded or measured several times; in a guarded block
    its later computations (each encoding) still stop at the deadline."""
    return watched(img.copy_memory())


def materialize(img: pyvips.Image, deadline: Deadline) -> pyvips.Image:
    """``img.copy_memory()`` within the deadline: steps between the deadline checks compute
    whole images (a large blur runs for minutes)."""
    with guarded(img, deadline) as view:
        return view.copy_memory()


def materialized_every(img: pyvips.Image, done: int, total: int, every: int,
                       deadline: Deadline | None) -> pyvips.Image:
    """``img``, the result of ``done`` of ``total`` links chained onto one lazy image (chained
    pipelines, boxes treated one after the other), made in memory after every ``every`` links
    but the last.  libvips goes over an image's whole graph as an operation is added to it or
    computed, recursively: one chain of thousands of links took quadratic time and, deeper,
    overflowed a thread's stack and killed the process."""
    if done % every or done >= total:
        return img
    return materialize(img, deadline) if deadline is not None else img.copy_memory()
