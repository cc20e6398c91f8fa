"""JPEG decoded whole by simplejpeg (``imaging.codecs.jpeg``) where a load reads every pixel at a
DCT scale: the same pixels, size and metadata as libvips' decode; libvips for everything else."""

from __future__ import annotations

import gc
import io

import numpy as np
import pytest
import pyvips
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from skimage import data as skimage_data

from imgproxy_py.errors import UnprocessableImageError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs import jpeg
from imgproxy_py.imaging.codecs import load as loader
from tests.conftest import asset, rgb_image

JPEG = ImageFormat.JPEG


def astronaut(width: int, height: int) -> pyvips.Image:
    """A real photo cut or mirrored out to ``width`` x ``height``."""
    return rgb_image(skimage_data.astronaut()).embed(0, 0, width, height, extend="mirror")


def encoded_variants() -> dict[str, bytes]:
    photo = astronaut(1003, 757)  # sizes that no DCT factor divides
    pillow_422 = io.BytesIO()
    Image.fromarray(photo.numpy()).save(pillow_422, "JPEG", quality=90, subsampling=1)
    return {
        "4:2:0": bytes(photo.jpegsave_buffer(Q=85, subsample_mode="on")),
        "4:4:4": bytes(photo.jpegsave_buffer(Q=85, subsample_mode="off")),
        "4:2:2": pillow_422.getvalue(),
        "restart markers": bytes(photo.jpegsave_buffer(Q=85, restart_interval=4)),
        "grey": bytes(photo.colourspace("b-w").jpegsave_buffer(Q=85)),
        "even size": bytes(astronaut(1024, 768).jpegsave_buffer(Q=85)),
        "tiny": bytes(astronaut(17, 9).jpegsave_buffer(Q=85)),
        "EXIF orientation 6": asset("hopper_orientation_6.jpg").read_bytes(),
        "IPTC and EXIF": asset("iptc.jpg").read_bytes(),
    }


VARIANTS = encoded_variants()


def in_memory(img: pyvips.Image) -> bool:
    """Whether ``img`` is the whole decode (libvips' own load is lazy and sequential)."""
    return "vips-sequential" not in img.get_fields()


@pytest.mark.parametrize("shrink", [2, 4, 8])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_same_pixels_size_and_metadata_as_libvips(name: str, shrink: int) -> None:
    data = VARIANTS[name]
    theirs = loader.load(data, JPEG, shrink=shrink, access="sequential")
    ours = loader.load(data, JPEG, shrink=shrink, access="sequential", whole=True)
    assert in_memory(ours) and not in_memory(theirs)
    assert (ours.width, ours.height, ours.bands, ours.format, ours.interpretation) == (
        theirs.width, theirs.height, theirs.bands, theirs.format, theirs.interpretation)
    assert (ours.xres, ours.yres) == (theirs.xres, theirs.yres)
    assert np.array_equal(ours.numpy(), theirs.numpy())
    fields = set(theirs.get_fields()) - {"vips-sequential"}
    assert set(ours.get_fields()) == fields
    for name_ in fields - {"width", "height", "bands", "format", "coding", "interpretation", "filename"}:
        assert ours.get(name_) == theirs.get(name_), name_


def test_pixels_outlive_the_decoder_array() -> None:
    data = VARIANTS["4:2:0"]
    expected = loader.load(data, JPEG, shrink=4, access="sequential").numpy()
    img = loader.load(data, JPEG, shrink=4, access="sequential", whole=True).flip("horizontal")
    gc.collect()  # nothing but the image holds the decoded array now
    assert np.array_equal(img.flip("horizontal").numpy(), expected)


@pytest.mark.parametrize("why", ["cmyk", "progressive", "truncated", "too large", "not asked", "no shrink"])
def test_libvips_decodes_the_rest(why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, shrink, whole = VARIANTS["4:2:0"], 2, True
    if why == "cmyk":  # Adobe's inverted CMYK: libvips' conversion
        data = asset("pil_sample_cmyk.jpg").read_bytes()
    elif why == "progressive":  # as before: crafted scan counts get no new path
        data = bytes(astronaut(1003, 757).jpegsave_buffer(Q=85, interlace=True))
    elif why == "truncated":  # libjpeg-turbo warns; libvips' tolerance applies, as before
        data = data[: len(data) * 2 // 3]
    elif why == "too large":
        monkeypatch.setattr(jpeg, "MAX_PIXELS", 500 * 378 - 1)
    elif why == "not asked":
        whole = False
    else:
        shrink = 1
    img = loader.load(data, JPEG, shrink=shrink, access="sequential", whole=whole)
    assert not in_memory(img)
    if why == "truncated":  # libvips fills what is missing when the pixels are read, as without ``whole``
        assert np.array_equal(img.numpy(), loader.load(data, JPEG, shrink=shrink, access="sequential").numpy())


def test_decode_whole_refuses_a_header_of_another_size() -> None:
    data = VARIANTS["4:2:0"]
    other = loader.load(data, JPEG, shrink=2, access="sequential")
    assert jpeg.decode_whole(data, other, 4) is None  # libvips' size is the size


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), min_size=1, max_size=4),
       st.sampled_from([2, 4, 8]))
def test_damaged_files_decode_as_libvips_decodes_them(damage: list[tuple[float, int]], shrink: int) -> None:
    """Bytes overwritten anywhere (header, tables, entropy-coded data): the whole decode is used
    only where libjpeg-turbo found nothing to warn about, and then gives libvips' pixels."""
    data = bytearray(VARIANTS["4:2:0"])
    for where, value in damage:
        data[int(where * (len(data) - 1))] = value
    # As the server runs libvips: without its operation cache, which could hand back an already
    # read sequential image for a new source that happens to sit at a freed one's address.
    cache_max = pyvips.cache_get_max()
    pyvips.cache_set_max(0)
    try:
        decoded_alike(bytes(data), shrink)
    finally:
        pyvips.cache_set_max(cache_max)


def decoded_alike(data: bytes, shrink: int) -> None:
    try:
        ours = loader.load(data, JPEG, shrink=shrink, access="sequential", whole=True)
    except UnprocessableImageError:  # the header itself is refused: the same as without ``whole``
        with pytest.raises(UnprocessableImageError):
            loader.load(data, JPEG, shrink=shrink, access="sequential")
        return
    if in_memory(ours):
        theirs = loader.load(data, JPEG, shrink=shrink, access="sequential")
        assert np.array_equal(ours.numpy(), theirs.numpy())
