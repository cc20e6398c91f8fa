"""Video input: what counts as a video, failures, limits and timeouts, settings from the environment
(tests/assets/media, see PROVENANCE.md)."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from imgproxy_py.deadline import REQUEST_DEADLINE, Deadline
from imgproxy_py.media.bestframe import BestFrameConfig, best_frames
from imgproxy_py.media.video import (
    FrameOutOfRangeError,
    UnsupportedVideoError,
    VideoConfig,
    VideoError,
    VideoTimeoutError,
    VideoTooBigError,
    VideoTooLongError,
    is_video,
)
from imgproxy_py.media.video_frame import extract_frame
from tests.video_support import ASSETS, CONFIG, encode_video, media_bytes


@pytest.fixture(scope="module")
def carphone() -> bytes:
    return media_bytes("carphone_pristine.mp4")


@pytest.fixture(scope="module")
def bikes() -> bytes:
    return media_bytes("bikes.mp4")


# -- sniffing ---------------------------------------------------------------------------------------


def test_is_video_recognises_containers(bikes: bytes) -> None:
    assert is_video(bikes)
    assert is_video(encode_video([np.zeros((32, 32, 3), np.uint8)] * 2, fps=5, fmt="matroska", codec="libvpx"))
    assert is_video(encode_video([np.zeros((32, 32, 3), np.uint8)] * 2, fps=5, fmt="avi", codec="mpeg4"))
    assert is_video(encode_video([np.zeros((32, 32, 3), np.uint8)] * 2, fps=5, fmt="mov", codec="mpeg4"))


@pytest.mark.parametrize("name", ["hopper.avif", "hopper.heif", "hopper.jpg", "hopper.png", "hopper.tif"])
def test_is_video_rejects_images(name: str) -> None:
    path = ASSETS / "core" / name
    if not path.exists():
        pytest.skip(f"{name} is not in tests/assets/core")
    assert not is_video(path.read_bytes())


def test_is_video_rejects_heif_brands_and_short_input() -> None:
    assert not is_video(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf")
    assert not is_video(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic")
    assert not is_video(b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom")
    assert is_video(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
    assert not is_video(b"")
    assert not is_video(b"RIFF\x00\x00\x00\x00WEBPVP8 ")


# -- failures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [120, 10_000, -1])
def test_frame_out_of_range(carphone: bytes, number: int) -> None:
    with pytest.raises(FrameOutOfRangeError) as caught:
        extract_frame(carphone, frame=number, config=CONFIG)
    assert caught.value.status == 422


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage" * 1000, b"\x00\x00\x00\x18ftypisom" + b"\x00" * 5000, b"\x1a\x45\xdf\xa3" + b"\xff" * 3000],
    ids=["empty", "garbage", "ftyp-only", "ebml-garbage"],
)
def test_garbage_is_unprocessable_quickly(data: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(VideoError) as caught:
        extract_frame(data, second=1, config=CONFIG)
    assert caught.value.status == 422
    assert time.monotonic() - started < 1.0


def test_truncated_videos_are_unprocessable(bikes: bytes) -> None:
    # bikes.mp4 keeps its index (moov) at the end: any truncation loses it.
    for size in (len(bikes) // 2, len(bikes) - 100):
        with pytest.raises(UnsupportedVideoError) as caught:
            extract_frame(bikes[:size], second=1, config=CONFIG)
        assert caught.value.status == 422
    # A Matroska file cut short keeps its header: the frames that are gone are out of range.
    frames = [np.full((48, 64, 3), i * 10, np.uint8) for i in range(25)]
    data = encode_video(frames, fps=5, fmt="matroska", codec="libvpx")
    cut = data[: len(data) * 2 // 5]
    extract_frame(cut, frame=0, config=CONFIG)
    with pytest.raises(VideoError) as caught:
        extract_frame(cut, frame=24, config=CONFIG)
    assert caught.value.status == 422


def unknown_codec(data: bytes, track: int = 0) -> bytes:
    """``data`` (an MP4 of H.264 tracks) with the codec of its ``track``-th track renamed to one
    FFmpeg does not know: the stream is there, with no decoder (PyAV gives it no codec context)."""
    at = data.index(b"stsd")
    for _ in range(track + 1):
        at = data.index(b"avc1", at + 1)
    return data[:at] + b"zzz1" + data[at + 4:]


def test_a_video_stream_of_an_unknown_codec_is_unprocessable(bikes: bytes) -> None:
    """Found by a mutation fuzz: such a stream answered 500 (its codec context is None)."""
    with pytest.raises(UnsupportedVideoError) as caught:
        extract_frame(unknown_codec(bikes), second=1, config=CONFIG)
    assert caught.value.status == 422


def test_the_first_video_stream_that_decodes_is_used() -> None:
    """An MP4 whose first video track has an unknown codec gives the second track's frames, and
    /info's stream list names the first one's codec ``unknown``."""
    import io

    import av

    from imgproxy_py.info.video import probe

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        tracks = [(container.add_stream("libx264", rate=10), width, height, shade)
                  for width, height, shade in ((64, 48, 200), (96, 32, 50))]
        for stream, width, height, _ in tracks:
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for _ in range(10):
            for stream, width, height, shade in tracks:
                frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), shade, np.uint8), format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
        for stream, *_ in tracks:
            for packet in stream.encode():
                container.mux(packet)
    both = out.getvalue()
    assert extract_frame(both, second=0.5, config=CONFIG).image.width == 64  # the first track
    data = unknown_codec(both)
    image = extract_frame(data, second=0.5, config=CONFIG).image
    assert (image.width, image.height) == (96, 32) and abs(image.avg() - 50) < 3
    assert [stream["codec"] for stream in probe(data)[2]] == ["unknown", "h264"]


def test_not_a_video_is_refused(tmp_path: Path) -> None:
    playlist = b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
    with pytest.raises(UnsupportedVideoError):
        extract_frame(playlist, config=CONFIG)


def test_decode_timeout_is_503(bikes: bytes) -> None:
    with pytest.raises(VideoTimeoutError) as caught:
        extract_frame(bikes, second=9, config=VideoConfig(decode_timeout=0.001))
    assert caught.value.status == 503
    with pytest.raises(VideoTimeoutError):
        extract_frame(bikes, second=1, config=CONFIG, deadline=time.monotonic() - 1)
    with pytest.raises(VideoTimeoutError):
        best_frames(bikes, config=VideoConfig(decode_timeout=0.01), face_detector=None)


def test_video_work_stops_when_its_client_leaves(bikes: bytes) -> None:
    """The request's deadline cancelled (``server.disconnect``) stops a frame extraction and a
    best-frames search as the time running out does; the worker pool answers it with 499."""
    deadline = Deadline.after(600)
    token = REQUEST_DEADLINE.set(deadline)
    try:
        started = time.monotonic()
        best_frames(bikes, config=CONFIG, face_detector=None)
        whole = time.monotonic() - started  # about half a second
        threading.Timer(whole * 0.2, deadline.cancel).start()
        started = time.monotonic()
        with pytest.raises(VideoTimeoutError):
            best_frames(bikes, config=CONFIG, face_detector=None)
        assert time.monotonic() - started < whole * 0.7
        with pytest.raises(VideoTimeoutError):  # once cancelled, nothing more is read
            extract_frame(bikes, second=1, config=CONFIG)
    finally:
        REQUEST_DEADLINE.reset(token)


def test_file_size_limit(bikes: bytes) -> None:
    with pytest.raises(VideoTooBigError) as caught:
        extract_frame(bikes, config=VideoConfig(max_file_size=len(bikes) - 1))
    assert caught.value.status == 422
    assert extract_frame(bikes, config=VideoConfig(max_file_size=len(bikes))).index == 25
    assert extract_frame(bikes, config=VideoConfig(max_file_size=0)).index == 25


def test_duration_limit(bikes: bytes) -> None:
    with pytest.raises(VideoTooLongError) as caught:
        extract_frame(bikes, config=VideoConfig(max_duration=9.5))
    assert caught.value.status == 422
    with pytest.raises(VideoTooLongError):
        best_frames(bikes, config=VideoConfig(max_duration=5), face_detector=None)
    assert extract_frame(bikes, config=VideoConfig(max_duration=10.0)).index == 25


def test_no_temporary_files_remain(bikes: bytes, private_tmp: Path) -> None:
    extract_frame(bikes, second=2, config=CONFIG)
    best_frames(bikes, config=VideoConfig(best_frame=BestFrameConfig(samples=20)), face_detector=None)
    with pytest.raises(VideoError):
        extract_frame(bikes[:1000], config=CONFIG)
    with pytest.raises(VideoTimeoutError):
        extract_frame(bikes, second=9, config=VideoConfig(decode_timeout=0.001))
    assert tempfile.gettempdir() == str(private_tmp)
    assert list(private_tmp.iterdir()) == []


def test_both_second_and_frame_is_a_programming_error(bikes: bytes) -> None:
    with pytest.raises(ValueError):
        extract_frame(bikes, second=1, frame=1, config=CONFIG)


# -- configuration ------------------------------------------------------------------------------------


def test_config_defaults() -> None:
    config, errors = VideoConfig.from_env({})
    assert errors == []
    assert config == VideoConfig()
    assert config.thumbnail_second == 1.0
    assert config.max_file_size == 512 * 1024 * 1024
    assert config.max_duration == 3600 and config.decode_timeout == 10
    assert config.best_frame == BestFrameConfig(samples=200, span=0.5)
    assert (config.best_frame.weight_sharpness, config.best_frame.weight_faces,
            config.best_frame.weight_exposure) == (1.0, 1.0, 0.5)


def test_config_from_env() -> None:
    config, errors = VideoConfig.from_env({
        "IMGPROXY_ENABLE_VIDEO_THUMBNAILS": "true",
        "IMGPROXY_VIDEO_THUMBNAIL_SECOND": "2.5",
        "IMGPROXY_VIDEO_THUMBNAIL_KEYFRAMES": "1",
        "IMGPROXY_MAX_VIDEO_FILE_SIZE": "64MiB",
        "IMGPROXY_MAX_VIDEO_DURATION": "0",
        "IMGPROXY_VIDEO_DECODE_TIMEOUT": "3",
        "IMGPROXY_VIDEO_BEST_FRAME_SAMPLES": "50",
        "IMGPROXY_VIDEO_BEST_FRAME_SPAN": "1",
        "IMGPROXY_VIDEO_BEST_FRAME_WEIGHTS": "sharpness=2, exposure=1",
    })
    assert errors == []
    assert config.enabled and config.thumbnail_keyframes
    assert config.thumbnail_second == 2.5
    assert config.max_file_size == 64 * 1024 * 1024
    assert config.max_duration == 0 and config.decode_timeout == 3
    best = config.best_frame
    assert (best.samples, best.span) == (50, 1.0)
    assert (best.weight_sharpness, best.weight_faces, best.weight_exposure) == (2.0, 0.0, 1.0)


def test_config_collects_every_error() -> None:
    config, errors = VideoConfig.from_env({
        "IMGPROXY_VIDEO_THUMBNAIL_SECOND": "soon",
        "IMGPROXY_MAX_VIDEO_FILE_SIZE": "lots",
        "IMGPROXY_MAX_VIDEO_DURATION": "-1",
        "IMGPROXY_VIDEO_DECODE_TIMEOUT": "0",
        "IMGPROXY_VIDEO_BEST_FRAME_SAMPLES": "0",
        "IMGPROXY_VIDEO_BEST_FRAME_SPAN": "1.5",
        "IMGPROXY_VIDEO_BEST_FRAME_WEIGHTS": "sharpness=1,beauty=3",
    })
    assert len(errors) == 7, errors
    assert config == VideoConfig()
    _, errors = VideoConfig.from_env({"IMGPROXY_VIDEO_BEST_FRAME_WEIGHTS": "sharpness=0,faces=0"})
    assert len(errors) == 1

