"""RAW sniffing, settings and refusals: what is decided before the ImageMagick worker
(no ImageMagick needed), on a real DNG (tests/assets/media, see PROVENANCE.md)."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

import httpx
import numpy as np
import pytest

from imgproxy_py.media.raw import (
    RawConfig,
    RawDecodeError,
    RawDecoder,
    RawUnsupportedError,
    _to_vips,
    is_raw,
    sniff_raw,
)
from tests.raw_support import ASSETS, DNG, pixels_of, tiff_file
from tests.servers import AppServer


@pytest.fixture(scope="module")
def dng() -> bytes:
    return DNG.read_bytes()


def _ascii(text: str) -> tuple[int, int, bytes]:
    value = text.encode() + b"\0"
    return 2, len(value), value


# -- sniffing ----------------------------------------------------------------------------------------


def test_sniff_the_real_dng(dng: bytes) -> None:
    assert sniff_raw(dng) == "DNG"
    assert is_raw(dng) and is_raw(dng, "photo.jpg")


@pytest.mark.parametrize(
    ("data", "coder"),
    [
        (b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\0" * 64, "CR2"),
        (b"IIRO\x08\x00\x00\x00" + b"\0" * 64, "ORF"),
        (b"IIU\x00\x08\x00\x00\x00" + b"\0" * 64, "RW2"),
        (b"FUJIFILMCCD-RAW 0201FF383501" + b"\0" * 64, "RAF"),
        (b"II\x1a\x00\x00\x00HEAPCCDR" + b"\0" * 64, "CRW"),
    ],
)
def test_sniff_formats_with_their_own_magic(data: bytes, coder: str) -> None:
    assert sniff_raw(data) == coder


def test_sniff_tiff_based_raw_by_make_and_structure() -> None:
    nikon = _ascii("NIKON CORPORATION")
    sub_ifds = (330, 4, 1, struct.pack("<I", 1000))
    assert sniff_raw(tiff_file([(271, *nikon), sub_ifds])) == "NEF"
    assert sniff_raw(tiff_file([(254, 4, 1, struct.pack("<I", 1)), (271, *_ascii("SONY"))])) == "ARW"
    assert sniff_raw(tiff_file([(259, 3, 1, struct.pack("<H", 65535)), (271, *_ascii("PENTAX"))])) == "PEF"
    big_endian = tiff_file([(271, *_ascii("NIKON")), (330, 4, 1, struct.pack(">I", 1000))], order=">")
    assert sniff_raw(big_endian) == "NEF"
    # A maker's plain TIFF (no sub-IFDs, full-size IFD0, ordinary compression) is not RAW...
    plain = tiff_file([(271, *nikon), (259, 3, 1, struct.pack("<H", 1))])
    assert sniff_raw(plain) is None
    # ...unless the file name says so.
    assert sniff_raw(plain, "DSC_0001.NEF") == "NEF"
    # An unknown maker is not RAW, and a name cannot make a DNG of a file without DNGVersion.
    assert sniff_raw(tiff_file([(271, *_ascii("ACME")), sub_ifds])) is None
    assert sniff_raw(plain, "photo.dng") is None
    assert sniff_raw(tiff_file([(50706, 1, 4, b"\x01\x04\x00\x00")])) == "DNG"


@pytest.mark.parametrize("name", ["hopper.tif", "hopper.iccprofile.tif", "16bit.deflate.tif", "hopper.jpg",
                                  "hopper.png", "hopper.avif", "hopper.webp"])
def test_ordinary_images_are_not_raw(name: str) -> None:
    path = ASSETS / "core" / name
    if not path.exists():
        pytest.skip(f"{name} is not in tests/assets/core")
    assert not is_raw(path.read_bytes())
    assert not is_raw(path.read_bytes(), "same.bin")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"II*\x00",
        b"II*\x00\xff\xff\xff\xff",  # IFD offset past the end
        b"II*\x00\x08\x00\x00\x00\xff\xff",  # 65535 entries announced, none there
        tiff_file([(271, 2, 4000, b"\0" * 8)])[:40],  # Make's value offset past the end
        b"MM\x00*\x00\x00\x00\x08" + b"\xff" * 100,
    ],
)
def test_sniff_survives_hostile_tiff(data: bytes) -> None:
    assert sniff_raw(data) in (None, "NEF", "ARW", "PEF", "SRW", "ORF", "CR2", "RW2")
    assert sniff_raw(data, "x.nef") in (None, "NEF")


# -- configuration -------------------------------------------------------------------------------------


def test_config_defaults_and_env() -> None:
    config, errors = RawConfig.from_env({})
    assert errors == [] and config == RawConfig()
    assert config.enabled and not config.enable_pdf
    assert config.timeout == 20 and config.memory_limit == 256 * 1024**2
    config, errors = RawConfig.from_env({
        "IMGPROXY_RAW_ENABLED": "false",
        "IMGPROXY_RAW_TIMEOUT": "5",
        "IMGPROXY_RAW_MEMORY_LIMIT": "128MiB",
        "IMGPROXY_RAW_MAP_LIMIT": "1GiB",
        "IMGPROXY_RAW_DISK_LIMIT": "2GB",
        "IMGPROXY_RAW_WIDTH_LIMIT": "8000",
        "IMGPROXY_RAW_HEIGHT_LIMIT": "6000",
        "IMGPROXY_RAW_AREA_LIMIT": "40000000",
        "IMGPROXY_RAW_ENABLE_PDF": "yes",
        "IMGPROXY_RAW_DCRAW": "/opt/dcraw",
    })
    assert errors == []
    assert not config.enabled and config.enable_pdf and config.timeout == 5
    assert (config.memory_limit, config.map_limit, config.disk_limit) == (128 * 1024**2, 1024**3, 2 * 10**9)
    assert (config.width_limit, config.height_limit, config.area_limit) == (8000, 6000, 40_000_000)
    assert config.dcraw == "/opt/dcraw"


def test_imgproxy_pro_setting_name_is_read() -> None:
    """IMGPROXY_ENABLE_RAW_FORMATS (imgproxy Pro's) decides when IMGPROXY_RAW_ENABLED is not set."""
    assert not RawConfig.from_env({"IMGPROXY_ENABLE_RAW_FORMATS": "false"})[0].enabled
    assert RawConfig.from_env({"IMGPROXY_ENABLE_RAW_FORMATS": "true"})[0].enabled
    assert RawConfig.from_env({"IMGPROXY_ENABLE_RAW_FORMATS": "false", "IMGPROXY_RAW_ENABLED": "true"})[0].enabled


def test_config_collects_every_error() -> None:
    config, errors = RawConfig.from_env({
        "IMGPROXY_RAW_ENABLED": "maybe",
        "IMGPROXY_RAW_TIMEOUT": "0",
        "IMGPROXY_RAW_MEMORY_LIMIT": "lots",
        "IMGPROXY_RAW_MAP_LIMIT": "12 parsecs",
        "IMGPROXY_RAW_DISK_LIMIT": "0",
        "IMGPROXY_RAW_WIDTH_LIMIT": "-3",
    })
    assert len(errors) == 6, errors
    assert config == RawConfig()


def test_sixteen_bit_pixels_are_scaled() -> None:
    pixels = np.array([[[0, 32768, 65535], [257, 514, 65280]]], dtype=np.uint16)
    header = {"ok": True, "width": 2, "height": 1, "bands": 3, "depth": 16}
    image = _to_vips(header, bytearray(pixels.tobytes()))
    assert image.format == "uchar" and image.interpretation == "srgb"
    assert pixels_of(image).tolist() == [[[0, 128, 255], [1, 2, 255]]]
    with pytest.raises(RawDecodeError):
        _to_vips({**header, "width": 3}, bytearray(pixels.tobytes()))


# -- refusals (no ImageMagick needed: nothing reaches the worker) -----------------------------------------

HOSTILE = {
    "mvg": b"push graphic-context\nviewbox 0 0 640 480\nimage over 0,0 0,0 'https://example.com/x.jpg'\n"
           b"pop graphic-context\n",
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
           b'xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="file:///etc/passwd"/></svg>',
    "text": b"text:/etc/passwd\n",
    "msl": b'<?xml version="1.0"?><image><read filename="/etc/passwd"/></image>',
    "pdf": b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n",
    "ps": b"%!PS-Adobe-3.0\n(hello) print\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_inputs_are_refused_before_the_worker(name: str) -> None:
    decoder = RawDecoder(RawConfig())
    try:
        with pytest.raises(RawUnsupportedError) as caught:
            decoder.decode(HOSTILE[name], deadline=time.monotonic() + 5, filename_hint=f"x.{name}")
        assert caught.value.status == 422
        assert decoder.worker_pid is None
        assert not decoder.accepts(HOSTILE[name])
    finally:
        decoder.close()


def test_disabled_decoder_refuses_everything(dng: bytes) -> None:
    decoder = RawDecoder(RawConfig(enabled=False))
    with pytest.raises(RawUnsupportedError):
        decoder.decode(dng, deadline=time.monotonic() + 5)
    assert decoder.worker_pid is None


def test_pdf_is_accepted_only_when_enabled() -> None:
    assert RawDecoder(RawConfig()).sniff(HOSTILE["pdf"]) is None
    assert RawDecoder(RawConfig(enable_pdf=True)).sniff(HOSTILE["pdf"]) == "PDF"


def test_raw_off_refuses_a_raw_file_instead_of_its_sensor_data(client: httpx.Client,
                                                                start_server: Callable[..., AppServer]) -> None:
    """With camera RAW off, a DNG (TIFF magic) is refused (422), as imgproxy refuses it; libvips
    would read it as a TIFF and give its dark, undemosaiced sensor data.  A real TIFF still works."""
    server = start_server(IMGPROXY_ENABLE_RAW_FORMATS="false")
    raw = client.get(f"{server.base}/unsafe/rs:fit:64:64/plain/local:///media/astronaut_bayer.dng@png")
    assert raw.status_code == 422
    tiff = client.get(f"{server.base}/unsafe/rs:fit:64:64/plain/local:///core/hopper.tif@png")
    assert tiff.status_code == 200
    # /info answers as the image URL does: it doesn't describe the RAW as a TIFF.
    assert client.get(f"{server.base}/info/unsafe/plain/local:///media/astronaut_bayer.dng").status_code == 422
    described = client.get(f"{server.base}/info/unsafe/plain/local:///core/hopper.tif")
    assert described.status_code == 200 and described.json()["format"] == "tiff"
