"""RAW decoding in the ImageMagick worker process, on a real DNG (tests/assets/media, see PROVENANCE.md).

The decoding tests need ImageMagick's MagickWand library (Debian: libmagickwand-6.q16-6) and the
``dcraw`` converter ImageMagick delegates RAW files to (Debian: dcraw); they skip without them.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import pyvips
import skimage.data
import skimage.metrics

from imgproxy_py.media.raw import (
    RawConfig,
    RawDecodeError,
    RawDecoder,
    RawTimeoutError,
    RawUnsupportedError,
    _to_vips,
    is_raw,
    raw_available,
    sniff_raw,
)

ASSETS = Path(__file__).parent / "assets"
DNG = ASSETS / "media" / "astronaut_bayer.dng"

needs_magick = pytest.mark.skipif(
    not raw_available(),
    reason="ImageMagick's MagickWand library is missing (Debian: apt-get install libmagickwand-6.q16-6)",
)
needs_converter = pytest.mark.skipif(
    shutil.which("dcraw") is None, reason="the dcraw RAW converter is missing (Debian: apt-get install dcraw)"
)


@pytest.fixture(scope="module")
def dng() -> bytes:
    return DNG.read_bytes()


@pytest.fixture()
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point ``tempfile`` at an empty directory of this test, so leftovers are ours alone."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory


def _tiff(entries: list[tuple[int, int, int, bytes]], *, order: str = "<", extra: bytes = b"") -> bytes:
    """A little TIFF: header, IFD0 at offset 8 with ``(tag, type, count, value)`` entries, then ``extra``.

    Values longer than 4 bytes go after the IFD (their offsets are filled in).
    """
    head = b"II*\x00" if order == "<" else b"MM\x00*"
    ifd_size = 2 + 12 * len(entries) + 4
    tail = b""
    body = struct.pack(order + "H", len(entries))
    for tag, kind, count, value in entries:
        if len(value) <= 4:
            body += struct.pack(order + "HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            body += struct.pack(order + "HHII", tag, kind, count, 8 + ifd_size + len(tail))
            tail += value
    return head + struct.pack(order + "I", 8) + body + b"\0\0\0\0" + tail + extra


def _ascii(text: str) -> tuple[int, int, bytes]:
    value = text.encode() + b"\0"
    return 2, len(value), value


def _dimensions(data: bytes) -> tuple[int, int]:
    """ImageWidth and ImageLength from IFD0 (the DNG keeps its raw image there)."""
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack_from(order + "I", data, 4)
    (count,) = struct.unpack_from(order + "H", data, offset)
    found: dict[int, int] = {}
    for number in range(count):
        tag, kind, _ = struct.unpack_from(order + "HHI", data, offset + 2 + 12 * number)
        if tag in (256, 257):
            fmt = "H" if kind == 3 else "I"
            (found[tag],) = struct.unpack_from(order + fmt, data, offset + 2 + 12 * number + 8)
    return found[256], found[257]


def _array(image: pyvips.Image) -> np.ndarray:
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))


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
    assert sniff_raw(_tiff([(271, *nikon), sub_ifds])) == "NEF"
    assert sniff_raw(_tiff([(254, 4, 1, struct.pack("<I", 1)), (271, *_ascii("SONY"))])) == "ARW"
    assert sniff_raw(_tiff([(259, 3, 1, struct.pack("<H", 65535)), (271, *_ascii("PENTAX"))])) == "PEF"
    big_endian = _tiff([(271, *_ascii("NIKON")), (330, 4, 1, struct.pack(">I", 1000))], order=">")
    assert sniff_raw(big_endian) == "NEF"
    # A maker's plain TIFF (no sub-IFDs, full-size IFD0, ordinary compression) is not RAW...
    plain = _tiff([(271, *nikon), (259, 3, 1, struct.pack("<H", 1))])
    assert sniff_raw(plain) is None
    # ...unless the file name says so.
    assert sniff_raw(plain, "DSC_0001.NEF") == "NEF"
    # An unknown maker is not RAW, and a name cannot make a DNG of a file without DNGVersion.
    assert sniff_raw(_tiff([(271, *_ascii("ACME")), sub_ifds])) is None
    assert sniff_raw(plain, "photo.dng") is None
    assert sniff_raw(_tiff([(50706, 1, 4, b"\x01\x04\x00\x00")])) == "DNG"


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
        _tiff([(271, 2, 4000, b"\0" * 8)])[:40],  # Make's value offset past the end
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
    assert _array(image).tolist() == [[[0, 128, 255], [1, 2, 255]]]
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


# -- decoding --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decoder() -> Iterator[RawDecoder]:
    if not raw_available():
        pytest.skip("ImageMagick's MagickWand library is missing (Debian: apt-get install libmagickwand-6.q16-6)")
    if shutil.which("dcraw") is None:
        pytest.skip("the dcraw RAW converter is missing (Debian: apt-get install dcraw)")
    with RawDecoder(RawConfig(timeout=30)) as shared:
        yield shared


def test_dng_decodes_to_the_astronaut(decoder: RawDecoder, dng: bytes) -> None:
    image = decoder.decode(dng, deadline=time.monotonic() + 30)
    assert (image.width, image.height) == _dimensions(dng) == (512, 512)
    assert image.bands == 3 and image.format == "uchar" and image.interpretation == "srgb"
    pixels = _array(image)
    astronaut = skimage.data.astronaut()
    assert skimage.metrics.structural_similarity(pixels, astronaut, channel_axis=2) > 0.5
    # The decode should not be a grey or single-colour blur either.
    assert pixels.std() > 40


def test_worker_is_reused_and_leaves_no_files(decoder: RawDecoder, dng: bytes) -> None:
    decoder.decode(dng, deadline=time.monotonic() + 30)
    pid = decoder.worker_pid
    assert pid is not None
    decoder.decode(dng, deadline=time.monotonic() + 30)
    assert decoder.worker_pid == pid
    worker = decoder._holder.worker
    assert worker is not None and os.listdir(worker.workdir) == []


def test_worker_environment_holds_no_secrets(dng: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    if not raw_available():
        pytest.skip("ImageMagick's MagickWand library is missing (Debian: apt-get install libmagickwand-6.q16-6)")
    monkeypatch.setenv("IMGPROXY_KEY", "c0ffee-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "also-secret")
    decoder = RawDecoder(RawConfig())
    try:
        with pytest.raises(RawDecodeError):  # a broken DNG is enough to start the worker
            decoder.decode(dng[:3000], deadline=time.monotonic() + 30)
        pid = decoder.worker_pid
        assert pid is not None
        environment = Path(f"/proc/{pid}/environ").read_bytes()
        assert b"secret" not in environment
        assert b"MAGICK_CONFIGURE_PATH=" in environment
    finally:
        decoder.close()


def _hostile_reads(target: Path, written: Path) -> dict[str, bytes]:
    """Inputs for other coders that would read ``target`` (and MSL would also write ``written``)
    if ImageMagick let them run."""
    name = str(target).encode()
    return {
        "MVG": b"push graphic-context\nviewbox 0 0 64 64\nimage over 0,0 0,0 '" + name + b"'\npop graphic-context\n",
        "SVG": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" '
               b'xmlns:xlink="http://www.w3.org/1999/xlink"><image width="64" height="64" xlink:href="file://'
               + name + b'"/></svg>',
        "TEXT": b"text:" + name + b"\n",
        "MSL": b'<?xml version="1.0"?><image><read filename="' + name + b'"/><write filename="'
               + str(written).encode() + b'"/></image>',
        "PS": b"%!PS-Adobe-3.0\n(" + name + b") (r) file closefile\n",
    }


def test_the_worker_refuses_other_coders(decoder: RawDecoder, tmp_path: Path) -> None:
    # Defence in depth: even when the sniffing is bypassed, the worker reads nothing but RAW.
    # Whether ImageMagick refuses by policy or lacks the coder altogether (optional delegates
    # such as SVG come in a separate package) depends on the machine; the outcome must not.
    # The referenced file is a FIFO: a coder that opened it would block there until the
    # deadline, so a refusal in time shows that nothing read it.
    target, written = tmp_path / "canary", tmp_path / "written.png"
    os.mkfifo(target)
    decoder.decode(DNG.read_bytes(), deadline=time.monotonic() + 30)  # the worker is up
    pid = decoder.worker_pid
    for coder, data in _hostile_reads(target, written).items():
        with pytest.raises(RawDecodeError) as caught:
            decoder._decode_as(coder, data, time.monotonic() + 10)
        assert caught.value.status == 422, coder  # refused, not timed out waiting on the FIFO
        assert decoder.worker_pid == pid, coder  # reported by the worker, which carries on
        worker = decoder._holder.worker
        assert worker is not None and os.listdir(worker.workdir) == [], coder
        assert sorted(p.name for p in tmp_path.iterdir()) == ["canary"], coder


def test_broken_raw_is_unprocessable(decoder: RawDecoder, dng: bytes) -> None:
    pid = decoder.worker_pid
    for data in (dng[:3000], _tiff([(50706, 1, 4, b"\x01\x04\x00\x00")], extra=b"\xff" * 500)):
        with pytest.raises(RawDecodeError) as caught:
            decoder.decode(data, deadline=time.monotonic() + 30)
        assert caught.value.status == 422
    # Failures are reported by the worker; it stays up.
    assert pid is None or decoder.worker_pid == pid
    assert (decoder.decode(dng, deadline=time.monotonic() + 30).width) == 512


def _slow_converter(directory: Path) -> tuple[Path, Path, Path]:
    """A dcraw stand-in that records its pid and sleeps while a marker file exists."""
    script, marker, pidfile = directory / "slow-dcraw", directory / "slow", directory / "converter.pid"
    script.write_text(
        "#!/bin/sh\n"
        f"echo $$ > '{pidfile}'\n"
        f"if [ -e '{marker}' ]; then sleep 30; fi\n"
        f"exec '{shutil.which('dcraw')}' \"$@\"\n"
    )
    script.chmod(0o755)
    return script, marker, pidfile


def _wait_for(path: Path, timeout: float = 15.0) -> None:
    stop = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < stop, f"{path.name} did not appear"
        time.sleep(0.02)


def _gone(pid: int, timeout: float = 5.0) -> bool:
    """Whether the process exits (or is a zombie) within ``timeout``: SIGKILL takes effect
    asynchronously, and an orphan is reaped by whoever adopts it."""
    stop = time.monotonic() + timeout
    while True:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().split(") ", 1)[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() > stop:
            return False
        time.sleep(0.02)


@needs_magick
@needs_converter
def test_killed_worker_is_reported_and_replaced(dng: bytes, tmp_path: Path, private_tmp: Path) -> None:
    script, marker, pidfile = _slow_converter(tmp_path)
    marker.touch()
    decoder = RawDecoder(RawConfig(timeout=60, dcraw=str(script)))
    outcome: list[BaseException | pyvips.Image] = []

    def run() -> None:
        try:
            outcome.append(decoder.decode(dng, deadline=time.monotonic() + 60))
        except BaseException as exc:
            outcome.append(exc)

    try:
        thread = threading.Thread(target=run)
        thread.start()
        _wait_for(pidfile)  # the worker is in the middle of a decode
        worker_pid = decoder.worker_pid
        assert worker_pid is not None
        os.kill(worker_pid, signal.SIGKILL)
        thread.join(20)
        assert not thread.is_alive()
        assert isinstance(outcome[0], RawDecodeError) and not isinstance(outcome[0], RawTimeoutError)
        assert outcome[0].status == 422
        # The converter the dead worker left behind was killed with its process group.
        assert _gone(int(pidfile.read_text()))
        marker.unlink()
        image = decoder.decode(dng, deadline=time.monotonic() + 30)
        assert image.width == 512
        assert decoder.worker_pid not in (None, worker_pid)
    finally:
        decoder.close()
    assert list(private_tmp.iterdir()) == []


@needs_magick
@needs_converter
def test_timeout_kills_the_worker_and_is_503(dng: bytes, tmp_path: Path, private_tmp: Path) -> None:
    script, marker, pidfile = _slow_converter(tmp_path)
    marker.touch()
    # The configured timeout...
    decoder = RawDecoder(RawConfig(timeout=2.0, dcraw=str(script)))
    try:
        started = time.monotonic()
        with pytest.raises(RawTimeoutError) as caught:
            decoder.decode(dng, deadline=time.monotonic() + 60)
        assert caught.value.status == 503
        assert time.monotonic() - started < 10
        assert decoder.worker_pid is None
    finally:
        decoder.close()
    # ...and a caller's deadline shorter than it both stop the decode.
    pidfile.unlink(missing_ok=True)
    decoder = RawDecoder(RawConfig(timeout=60, dcraw=str(script)))
    try:
        # Start the worker first (converter fast), so that the deadline below is spent in the converter.
        marker.unlink()
        assert decoder.decode(dng, deadline=time.monotonic() + 30).width == 512
        marker.touch()
        pidfile.unlink()
        started = time.monotonic()
        with pytest.raises(RawTimeoutError):
            decoder.decode(dng, deadline=time.monotonic() + 2.0)
        assert time.monotonic() - started < 10
        # The sleeping converter went with the worker's process group.
        assert _gone(int(pidfile.read_text()))
        marker.unlink()
        assert decoder.decode(dng, deadline=time.monotonic() + 30).width == 512
        with pytest.raises(RawTimeoutError):
            decoder.decode(dng, deadline=time.monotonic() - 1)
    finally:
        decoder.close()
    assert list(private_tmp.iterdir()) == []


@needs_magick
def test_missing_converter_fails_cleanly(dng: bytes, private_tmp: Path) -> None:
    decoder = RawDecoder(RawConfig(dcraw="no-such-raw-converter"))
    try:
        with pytest.raises(RawDecodeError) as caught:
            decoder.decode(dng, deadline=time.monotonic() + 30)
        assert caught.value.status == 422
    finally:
        decoder.close()
    assert list(private_tmp.iterdir()) == []
