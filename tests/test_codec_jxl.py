"""JPEG XL sources at their own bit depth: imagecodecs gives samples unscaled (a 10-bit file as
0..1023, a 1-bit one as 0..1), so the loader reads the codestream's ``bit_depth`` and stretches
them; without that a 10-bit photo came out 64 times too dark and a 1-bit one black."""

from __future__ import annotations

import imagecodecs
import numpy as np
import pytest

from imgproxy_py.imaging.codecs import jxl
from imgproxy_py.imaging.codecs.dib_header import ImageDecodeError


def ramp(top: int, dtype: type, shape: tuple[int, ...] = (24, 40, 3)) -> np.ndarray:
    """Every level from 0 to ``top`` (or as many as fit), in order."""
    return np.rint(np.linspace(0, top, int(np.prod(shape)))).reshape(shape).astype(dtype)


def samples(data: bytes) -> np.ndarray:
    img = jxl.load_jxl(data, max_pixels=0)
    dtype = np.uint16 if img.format == "ushort" else np.uint8
    return np.ndarray(buffer=img.write_to_memory(), dtype=dtype, shape=(img.height, img.width, img.bands))


@pytest.mark.parametrize(
    ("bits", "dtype", "top"),
    [(10, np.uint16, 65535), (12, np.uint16, 65535), (16, np.uint16, 65535), (8, np.uint8, 255), (1, np.uint8, 255)],
)
def test_samples_fill_their_range(bits: int, dtype: type, top: int) -> None:
    source = ramp((1 << bits) - 1, dtype)
    data = bytes(imagecodecs.jpegxl_encode(source, lossless=True, bitspersample=bits))
    assert jxl.read_header(data) == (40, 24, bits)
    got = samples(data)
    assert got.max() == top and got.min() == 0
    # Evenly stretched: each level lands on round(level * top / (2**bits - 1)).
    expected = np.rint(source.astype(np.float64) * top / ((1 << bits) - 1))
    assert np.array_equal(got, expected.astype(dtype))


def test_one_bit_grey_is_black_and_white() -> None:
    source = (np.indices((16, 16)).sum(axis=0) % 2).astype(np.uint8)
    got = samples(bytes(imagecodecs.jpegxl_encode(source, lossless=True, bitspersample=1)))
    assert sorted(np.unique(got).tolist()) == [0, 255]


def test_default_metadata_is_eight_bits() -> None:
    data = bytes(imagecodecs.jpegxl_encode(ramp(255, np.uint8), level=90))
    assert jxl.read_header(data)[2] == 8
    assert samples(data).max() > 200


def test_truncated_header_is_a_decode_error() -> None:
    data = bytes(imagecodecs.jpegxl_encode(ramp(1023, np.uint16), lossless=True, bitspersample=10))
    with pytest.raises(ImageDecodeError):
        jxl.read_header(data[:4])
