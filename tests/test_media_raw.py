"""RAW decoding in the ImageMagick worker process, on a real DNG (tests/assets/media, see PROVENANCE.md).

The decoding tests need ImageMagick's MagickWand library (Debian: libmagickwand-6.q16-6) and the
``dcraw`` converter ImageMagick delegates RAW files to (Debian: dcraw); they skip without them.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvips
import skimage.data
import skimage.metrics

from imgproxy_py.deadline import REQUEST_DEADLINE, Deadline
from imgproxy_py.errors import RequestCancelledError
from imgproxy_py.media.raw import (
    RawConfig,
    RawDecodeError,
    RawDecoder,
    RawTimeoutError,
    raw_available,
)
from tests.raw_support import DNG, pixels_of, tiff_file

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
    pixels = pixels_of(image)
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


def test_a_worker_whose_server_died_removes_its_folder(decoder: RawDecoder, dng: bytes) -> None:
    decoder.decode(dng, deadline=time.monotonic() + 30)
    worker = decoder._holder.worker
    assert worker is not None and os.path.isdir(worker.root)
    # The server process is killed: the kernel closes its end of the worker's input, and no
    # one is left to remove the worker's folder but the worker.
    assert worker.process.stdin is not None
    worker.process.stdin.close()
    assert worker.process.wait(10) == 0
    assert not os.path.exists(worker.root)


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
    for data in (dng[:3000], tiff_file([(50706, 1, 4, b"\x01\x04\x00\x00")], extra=b"\xff" * 500)):
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
@needs_converter
def test_a_decode_whose_client_left_stops_at_once(dng: bytes, tmp_path: Path, private_tmp: Path) -> None:
    """The request's deadline cancelled (``server.disconnect``) kills the worker's process group
    at once, the converter with it: a 499, and the next decode gets a new worker."""
    script, marker, pidfile = _slow_converter(tmp_path)
    marker.touch()
    decoder = RawDecoder(RawConfig(timeout=60, dcraw=str(script)))
    deadline = Deadline.after(60)
    outcome: list[BaseException | pyvips.Image] = []

    def run() -> None:
        REQUEST_DEADLINE.set(deadline)  # as the worker pool sets it for the job's thread
        try:
            outcome.append(decoder.decode(dng, deadline=deadline.expires_at))
        except BaseException as exc:
            outcome.append(exc)

    try:
        thread = threading.Thread(target=run)
        thread.start()
        _wait_for(pidfile)  # the converter sleeps: without the stop, 30 s
        worker_pid = decoder.worker_pid
        started = time.monotonic()
        deadline.cancel()
        thread.join(20)
        assert time.monotonic() - started < 3
        assert isinstance(outcome[0], RequestCancelledError) and outcome[0].status == 499
        assert _gone(int(pidfile.read_text()))
        marker.unlink()
        assert decoder.decode(dng, deadline=time.monotonic() + 30).width == 512
        assert decoder.worker_pid not in (None, worker_pid)
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
