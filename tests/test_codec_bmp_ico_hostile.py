"""Hostile BMP and ICO input: headers refused before any pixel work, decompression bombs bounded
by the pixel limit, seeded truncation and header corruption of every variant, and a large BMP
decoded without a loop per pixel (a hang guard, not a benchmark).
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable

import numpy as np
import pytest
import pyvips
from skimage import data as skdata

from imgproxy_py.imaging.codecs.bmp import load_bmp
from imgproxy_py.imaging.codecs.dib_header import ImageDecodeError
from imgproxy_py.imaging.codecs.ico import load_ico
from tests.bmp_ico_support import (
    ASSETS,
    MAX,
    alpha_for,
    bmp_variants,
    dib_entry,
    disc_mask,
    downscale,
    make_bmp,
    make_ico,
    png_bytes,
)


def _case_id(value: object) -> str:
    # Readable test ids instead of escaped bytes.
    if isinstance(value, bytes):
        return f"{len(value)}B"
    return str(value).replace(" ", "-")


def _header(w: int, h: int, bpp: int = 24, compression: int = 0, colors: int = 0, offset: int = 54) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, bpp, compression, 0, 0, 0, colors, 0)
    return b"BM" + struct.pack("<IHHI", 0, 0, 0, offset) + info


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_header(65535, 65535), "resolution too big"),
        (_header(65536, 1), "dimensions too big"),
        (_header(-5, 5), "invalid dimensions"),
        (_header(5, 0), "invalid dimensions"),
        (_header(5, -(2**31)), "dimensions too big"),
        (_header(5, 5, bpp=3), "bit depth"),
        (_header(5, 5, bpp=24, compression=1), "bit depth"),
        (_header(5, 5, compression=4), "compression"),  # embedded JPEG
        (_header(5, 5, compression=0x7FFFFFFF), "compression"),
        (_header(5, 5) + bytes(10), "truncated pixel data"),
        (_header(5, 5, offset=0xFFFFFFFF) + bytes(100), "beyond end"),
        (_header(5, 5, offset=20) + bytes(100), "inside the header"),
        (_header(5, 5, bpp=8, offset=1078) + bytes(100), "truncated palette"),
        (_header(5, 5, bpp=8, colors=2**32 - 1, offset=1078) + bytes(100), "truncated palette"),
        (b"BM" + bytes(12) + struct.pack("<I", 20) + bytes(30), "header size"),
        (b"BM" + bytes(12) + struct.pack("<I", 124) + bytes(30), "truncated header"),
        (b"BM" + bytes(12) + struct.pack("<I", 40) + bytes(8), "truncated header"),
        (b"BM" + bytes(10), "not a BMP"),
        (b"GIF89a" + bytes(40), "not a BMP"),
    ],
    ids=_case_id,
)
def test_rejected_bmps(data: bytes, reason: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ImageDecodeError, match=reason):
        load_bmp(data, max_pixels=MAX)
    assert time.perf_counter() - start < 2.0  # refused from the header: no pixel work (a hang guard)


def test_huge_declared_size_does_not_allocate() -> None:
    # 60000x60000 24-bit declares 10 GB of pixels; with no limit the data check rejects it.
    start = time.perf_counter()
    with pytest.raises(ImageDecodeError, match="truncated pixel data"):
        load_bmp(_header(60000, 60000) + bytes(1000), max_pixels=10**12)
    assert time.perf_counter() - start < 2.0  # zeroing 10 GB would take far longer


def test_rle_bomb_is_bounded_by_max_pixels() -> None:
    pal = np.zeros((256, 3), np.uint8)
    # A few bytes that declare 4000x3000 and end at once: within the limit it is a
    # (black) image, beyond it the header is refused before anything is allocated.
    data = make_bmp(
        np.zeros((1, 1, 3), np.uint8),
        bpp=8,
        compression=1,
        idx=np.zeros((1, 1), np.uint8),
        palette=pal,
        rle_stream=b"\x00\x01",
    )
    data = data[:18] + struct.pack("<ii", 4000, 3000) + data[26:]
    image = load_bmp(data, max_pixels=MAX)
    assert (image.width, image.height, image.bands) == (4000, 3000, 3)
    assert image.max() == 0
    with pytest.raises(ImageDecodeError, match="resolution too big"):
        load_bmp(data, max_pixels=1_000_000)
    # Runs past the row end and deltas past the image are clipped, not written out of bounds.
    stream = bytes([255, 7, 0, 2, 255, 255, 9, 9, 0, 1])
    small = make_bmp(
        np.zeros((2, 3, 3), np.uint8),
        bpp=8,
        compression=1,
        idx=np.zeros((2, 3), np.uint8),
        palette=pal,
        rle_stream=stream,
    )
    assert load_bmp(small, max_pixels=MAX).height == 2
    # Absolute run longer than the data that is left.
    cut = make_bmp(
        np.zeros((2, 3, 3), np.uint8),
        bpp=8,
        compression=1,
        idx=np.zeros((2, 3), np.uint8),
        palette=pal,
        rle_stream=bytes([0, 200, 1, 2, 3]),
    )
    with pytest.raises(ImageDecodeError, match="truncated RLE"):
        load_bmp(cut, max_pixels=MAX)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00\x00\x01\x00\xff\xff" + bytes(64), "truncated ICO directory"),
        (b"\x00\x00\x01\x00\x00\x00", "no images"),
        (
            b"\x00\x00\x01\x00\x01\x00" + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, 40, 6) + bytes(40),
            "no usable",
        ),
        (b"\x00\x00\x01\x00\x01\x00" + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, 40, 999), "no usable"),
        (make_ico([(16, 16, 32, b"\x89PNG\r\n\x1a\n" + bytes(40))]), "PNG icon"),
        (make_ico([(16, 16, 32, png_bytes(np.zeros((16, 16, 3), np.uint8))[:60])]), "invalid PNG icon"),
        (make_ico([(16, 16, 32, struct.pack("<IiiHH", 40, 16, -32, 1, 32) + bytes(100))]), "top-down"),
        (
            make_ico([(16, 16, 32, struct.pack("<IiiHH", 40, 16, 1, 1, 32) + bytes(100))]),
            "invalid dimensions",
        ),
        (make_ico([(16, 16, 8, struct.pack("<IiiHHI", 40, 16, 32, 1, 8, 1) + bytes(1100))]), "compressed"),
        # A packed DIB's (optional) colour table is skipped even at 24 bits.
        (
            make_ico([(1, 1, 24, struct.pack("<IiiHHIIiiI", 40, 1, 2, 1, 24, 0, 0, 0, 0, 2**32 - 1) + bytes(8))]),
            "beyond end",
        ),
    ],
    ids=_case_id,
)
def test_rejected_icos(data: bytes, reason: str) -> None:
    with pytest.raises(ImageDecodeError, match=reason):
        load_ico(data, max_pixels=MAX)


def _fuzz_corpus() -> list[tuple[str, bytes, Callable[..., pyvips.Image]]]:
    rgb = downscale(skdata.chelsea(), 13, 7)  # small: thousands of decodes must stay fast
    corpus: list[tuple[str, bytes, Callable[..., pyvips.Image]]] = [
        (name, data, load_bmp) for name, (data, _) in bmp_variants(rgb).items()
    ]
    hole = disc_mask(7, 13)
    corpus += [
        ("ico-8", make_ico([(13, 7, 8, dib_entry(rgb, bpp=8, transparent=hole))]), load_ico),
        (
            "ico-32",
            make_ico([(13, 7, 32, dib_entry(rgb, bpp=32, transparent=hole, alpha=alpha_for(rgb)))]),
            load_ico,
        ),
        (
            "ico-png",
            make_ico([(4, 4, 24, dib_entry(rgb[:4, :4], bpp=24, transparent=None)), (13, 7, 32, png_bytes(rgb))]),
            load_ico,
        ),
    ]
    corpus += [
        ("python.bmp", (ASSETS / "python.bmp").read_bytes(), load_bmp),
        ("idle.ico", (ASSETS / "idle.ico").read_bytes(), load_ico),
    ]
    return corpus


def _check(loader: Callable[..., pyvips.Image], data: bytes, failures: list[str], label: str) -> float:
    start = time.perf_counter()
    try:
        image = loader(data, max_pixels=4_000_000)
        image.avg()  # the pixels must really be there
    except ImageDecodeError as exc:
        # The catch-all for unforeseen exceptions must never be what answers.
        if str(exc).startswith("malformed"):
            failures.append(f"{label}: {exc}")
    except Exception as exc:
        failures.append(f"{label}: {type(exc).__name__}: {exc}")
    return time.perf_counter() - start


def test_fuzz_truncation_and_corruption() -> None:
    rng = random.Random(20240611)
    failures: list[str] = []
    slowest = 0.0
    for name, data, loader in _fuzz_corpus():
        cuts = set(range(min(len(data), 160)))
        cuts |= {rng.randrange(len(data)) for _ in range(40)}
        for cut in sorted(cuts):
            slowest = max(slowest, _check(loader, data[:cut], failures, f"{name} cut {cut}"))
        # Header region (file header, info header, masks, palette start) gets most flips;
        # RLE streams are control data, so they are corrupted anywhere.
        span = len(data) if name.startswith("rle") else min(len(data), 14 + 124 + 64)
        for trial in range(250):
            mutated = bytearray(data)
            for _ in range(rng.choice((1, 1, 2, 4))):
                mutated[rng.randrange(span)] ^= rng.randrange(1, 256)
            slowest = max(slowest, _check(loader, bytes(mutated), failures, f"{name} flip {trial}"))
    assert not failures, failures[:10]
    assert slowest < 5.0  # a hang guard; decoding speed is measured in benchmarks/, not here


def test_a_large_bmp_is_decoded_without_a_loop_per_pixel() -> None:
    rgb = np.ascontiguousarray(np.resize(skdata.astronaut(), (1500, 2000, 3)))
    data = make_bmp(rgb)
    start = time.perf_counter()
    image = load_bmp(data, max_pixels=MAX)
    pixels = image.write_to_memory()
    elapsed = time.perf_counter() - start
    assert len(pixels) == 2000 * 1500 * 3
    # Vectorized, not a loop per pixel (which would take tens of seconds); the bound leaves room
    # for a loaded CI machine.
    assert elapsed < 5.0
