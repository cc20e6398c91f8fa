"""Video frames and best-frame selection on real videos (tests/assets/media, see PROVENANCE.md)."""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import pyvips
import skimage.color
import skimage.data
import skimage.filters
import skimage.transform

from imgproxy_py.media.bestframe import (
    BestFrameConfig,
    FrameScore,
    best_frames,
    face_score,
    representative_face,
    score_frames,
)
from imgproxy_py.media.video import (
    FrameOutOfRangeError,
    UnsupportedVideoError,
    VideoConfig,
    VideoError,
    VideoFrame,
    VideoTimeoutError,
    VideoTooBigError,
    VideoTooLongError,
    is_video,
    orient,
)
from imgproxy_py.media.video_frame import extract_frame

ASSETS = Path(__file__).parent / "assets"
MEDIA = ASSETS / "media"
CONFIG = VideoConfig()


def _bytes(name: str) -> bytes:
    return (MEDIA / name).read_bytes()


@pytest.fixture(scope="module")
def carphone() -> bytes:
    return _bytes("carphone_pristine.mp4")


@pytest.fixture(scope="module")
def bikes() -> bytes:
    return _bytes("bikes.mp4")


@dataclass
class Reference:
    """Every frame of a video from one plain sequential decode, as the images ``extract_frame``
    should give (same conversion, turned upright and with square pixels)."""

    frames: list[np.ndarray]
    keyframes: list[int]
    fps: Fraction
    times: list[float]


def _reference(data: bytes) -> Reference:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        sar = float(stream.codec_context.sample_aspect_ratio or 1)
        fps = Fraction(stream.average_rate or 0)
        frames, keyframes, times = [], [], []
        start = stream.start_time or 0
        for number, frame in enumerate(container.decode(stream)):
            if frame.key_frame:
                keyframes.append(number)
            times.append(float((frame.pts - start) * stream.time_base))
            array = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
            image = pyvips.Image.new_from_memory(array.data, array.shape[1], array.shape[0], 3, "uchar")
            frames.append(_array(orient(image, frame.rotation, sar if sar > 0 else 1.0)))
    return Reference(frames, keyframes, fps, times)


@pytest.fixture(scope="module")
def carphone_ref(carphone: bytes) -> Reference:
    return _reference(carphone)


@pytest.fixture(scope="module")
def bikes_ref(bikes: bytes) -> Reference:
    return _reference(bikes)


def _array(image: pyvips.Image) -> np.ndarray:
    return np.ndarray(
        buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands)
    ).copy()


def _encode(frames: Sequence[np.ndarray], *, fps: int, fmt: str = "mp4", codec: str = "libx264",
            rotation: int = 0) -> bytes:
    """A small video made with PyAV from RGB arrays of one size."""
    out = io.BytesIO()
    height, width = frames[0].shape[:2]
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


@pytest.fixture()
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point ``tempfile`` at an empty directory of this test, so leftovers are ours alone."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory


# -- sniffing ---------------------------------------------------------------------------------------


def test_is_video_recognises_containers(bikes: bytes) -> None:
    assert is_video(bikes)
    assert is_video(_encode([np.zeros((32, 32, 3), np.uint8)] * 2, fps=5, fmt="matroska", codec="libvpx"))
    assert is_video(_encode([np.zeros((32, 32, 3), np.uint8)] * 2, fps=5, fmt="avi", codec="mpeg4"))
    assert is_video(_encode([np.zeros((32, 32, 3), np.uint8)] * 2, fps=5, fmt="mov", codec="mpeg4"))


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


# -- frame accuracy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [0, 1, 59, 118, 119])
def test_frame_by_number_matches_sequential_decode_single_gop(
    carphone: bytes, carphone_ref: Reference, number: int
) -> None:
    frame = extract_frame(carphone, frame=number, config=CONFIG)
    assert isinstance(frame, VideoFrame)
    assert frame.index == number
    assert frame.timestamp == pytest.approx(number / float(carphone_ref.fps), abs=1e-3)
    assert (frame.width, frame.height) == (frame.image.width, frame.image.height)
    assert frame.image.bands == 3 and frame.image.format == "uchar" and frame.image.interpretation == "srgb"
    assert np.array_equal(_array(frame.image), carphone_ref.frames[number])


def test_bikes_has_several_keyframes(bikes_ref: Reference) -> None:
    # The next test relies on seeking across GOPs.
    assert len(bikes_ref.keyframes) >= 4, bikes_ref.keyframes


@pytest.mark.parametrize("offset", [-1, 0, 1, 3])
def test_frame_by_number_across_keyframes(bikes: bytes, bikes_ref: Reference, offset: int) -> None:
    for keyframe in bikes_ref.keyframes[1:]:
        number = keyframe + offset
        if number >= len(bikes_ref.frames):
            continue
        frame = extract_frame(bikes, frame=number, config=CONFIG)
        assert frame.index == number
        assert np.array_equal(_array(frame.image), bikes_ref.frames[number]), number


def test_last_frame_and_sample_aspect_ratio(carphone: bytes, carphone_ref: Reference) -> None:
    frame = extract_frame(carphone, frame=119, config=CONFIG)
    # carphone is QCIF with non-square pixels (128:117): 176 stored columns show as 193.
    assert frame.height == 144
    assert frame.width == round(176 * 128 / 117)
    assert np.array_equal(_array(frame.image), carphone_ref.frames[-1])


@pytest.mark.parametrize("second", [0.0, 0.5, 1.0, 2.37, 5.5, 7.96])
def test_frame_at_second(bikes: bytes, bikes_ref: Reference, second: float) -> None:
    frame = extract_frame(bikes, second=second, config=CONFIG)
    assert abs(frame.index - round(second * 25)) <= 1
    assert frame.timestamp <= second + 1e-6
    assert np.array_equal(_array(frame.image), bikes_ref.frames[frame.index])


def test_frame_at_second_defaults_to_config(bikes: bytes) -> None:
    assert extract_frame(bikes, config=CONFIG).index == 25
    assert extract_frame(bikes, config=VideoConfig(thumbnail_second=3)).index == 75


def test_second_past_the_end_gives_last_frame(bikes: bytes, bikes_ref: Reference) -> None:
    frame = extract_frame(bikes, second=1000, config=CONFIG)
    assert frame.index == len(bikes_ref.frames) - 1
    assert np.array_equal(_array(frame.image), bikes_ref.frames[-1])


@pytest.mark.parametrize("second", [0.5, 2.37, 6.0, 9.9])
def test_keyframe_at_second(bikes: bytes, bikes_ref: Reference, second: float) -> None:
    frame = extract_frame(bikes, second=second, keyframes=True, config=CONFIG)
    expected = max(k for k in bikes_ref.keyframes if k <= round(second * 25))
    assert frame.index == expected
    assert np.array_equal(_array(frame.image), bikes_ref.frames[expected])


def _variable_rate_video(fmt: str) -> bytes:
    """40 frames whose durations alternate 100 ms, 33 ms, 33 ms: no constant rate fits them."""
    out = io.BytesIO()
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for number in range(40):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), number * 6, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += 100 if number % 3 == 0 else 33
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["mp4", "matroska"])
def test_variable_frame_rate_frames_are_exact(fmt: str) -> None:
    data = _variable_rate_video(fmt)
    reference = _reference(data)
    assert len(reference.frames) == 40
    for number in (0, 1, 2, 3, 17, 30, 39):
        frame = extract_frame(data, frame=number, config=CONFIG)
        assert frame.index == number
        assert np.array_equal(_array(frame.image), reference.frames[number]), number
    for second in (0.05, 0.5, 1.0, 1.7):
        frame = extract_frame(data, second=second, config=CONFIG)
        shown = max(i for i, t in enumerate(reference.times) if t <= second + 1e-6)
        assert frame.index == shown, second
        assert np.array_equal(_array(frame.image), reference.frames[shown])
    with pytest.raises(FrameOutOfRangeError):
        extract_frame(data, frame=40, config=CONFIG)


def test_display_rotation_is_applied() -> None:
    base = np.zeros((48, 64, 3), np.uint8)
    base[:16, :16] = (255, 0, 0)  # red block at the stored frame's top-left
    data = _encode([base] * 3, fps=5, rotation=90)
    frame = extract_frame(data, frame=0, config=CONFIG)
    # 90 degrees counter-clockwise: 64x48 becomes 48x64 and the top-left goes to the bottom-left.
    assert (frame.width, frame.height) == (48, 64)
    pixels = _array(frame.image)
    assert pixels[-8, 8, 0] > 200 and pixels[-8, 8, 1] < 60
    assert pixels[8, 8, 0] < 60


def test_webm_frames_are_exact() -> None:
    rng = np.random.default_rng(1)
    frames = [np.full((48, 64, 3), (i * 9) % 256, np.uint8) + rng.integers(0, 20, (48, 64, 3), dtype=np.uint8)
              for i in range(20)]
    data = _encode(frames, fps=10, fmt="webm", codec="libvpx")
    reference = _reference(data)
    for number in (0, 7, 19):
        frame = extract_frame(data, frame=number, config=CONFIG)
        assert np.array_equal(_array(frame.image), reference.frames[number])
    with pytest.raises(FrameOutOfRangeError):
        extract_frame(data, frame=20, config=CONFIG)


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
    data = _encode(frames, fps=5, fmt="matroska", codec="libvpx")
    cut = data[: len(data) * 2 // 5]
    extract_frame(cut, frame=0, config=CONFIG)
    with pytest.raises(VideoError) as caught:
        extract_frame(cut, frame=24, config=CONFIG)
    assert caught.value.status == 422


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


# -- best frames --------------------------------------------------------------------------------------


def _sharpness(array: np.ndarray) -> float:
    return float(skimage.filters.laplace(skimage.color.rgb2gray(array)).var())


@pytest.fixture(scope="module")
def face_detector() -> object:
    try:
        from imgproxy_py.detection import DetectionConfig, DetectorSet
    except ImportError as exc:
        pytest.skip(f"imgproxy_py.detection is not importable: {exc}")
    detectors = DetectorSet(DetectionConfig.from_env({})[0])
    if not detectors.enabled:
        pytest.skip(f"no face detector could be loaded (models/centerface.onnx, onnxruntime): {detectors.errors}")
    return detectors


def test_best_frame_is_sharper_than_the_median_sample(bikes: bytes, bikes_ref: Reference) -> None:
    ranked = best_frames(bikes, config=CONFIG, face_detector=None, top_k=5)
    assert 1 <= len(ranked) <= 5
    assert all(isinstance(item, FrameScore) for item in ranked)
    assert [item.score for item in ranked] == sorted((item.score for item in ranked), reverse=True)
    # 200 samples over the first half of a 250-frame video: every one of its first 125 frames.
    sampled = bikes_ref.frames[:125]
    best = ranked[0]
    assert 0 <= best.index < 125
    assert np.array_equal(_array(best.image), bikes_ref.frames[best.index])
    median = statistics.median(_sharpness(frame) for frame in sampled)
    assert _sharpness(bikes_ref.frames[best.index]) > median
    assert best.faces == 0.0 and best.face_count == 0
    assert all(0.0 <= item.sharpness <= 1.0 and 0.0 <= item.exposure <= 1.0 for item in ranked)
    assert len({item.index for item in ranked}) == len(ranked)


def test_best_frame_with_faces(bikes: bytes, face_detector: object) -> None:
    detect = face_detector.detect  # type: ignore[attr-defined]
    ranked = best_frames(bikes, config=CONFIG, face_detector=detect, top_k=3)
    best = ranked[0]
    assert best.face_count >= 1 and best.faces > 0
    assert any(d.class_name == "face" for d in detect(best.image))
    face = representative_face([item.image for item in ranked], detect)
    assert face is not None and (face.width, face.height) == (320, 320)
    assert detect(face), "the face thumbnail should itself show a face"


def test_near_duplicates_are_dropped() -> None:
    scenes = []
    for name in ("astronaut", "chelsea", "rocket", "camera"):
        picture = getattr(skimage.data, name)()
        if picture.ndim == 2:
            picture = np.stack([picture] * 3, axis=-1)
        scenes.append((skimage.transform.resize(picture, (96, 128), anti_aliasing=True) * 255).astype(np.uint8))
    repeats = 6
    data = _encode([scene for scene in scenes for _ in range(repeats)], fps=6)
    config = VideoConfig(best_frame=BestFrameConfig(samples=200, span=1.0))
    kept = score_frames(data, config=config, face_detector=None)
    assert len(kept) == len(scenes)
    assert sorted(item.index // repeats for item in kept) == list(range(len(scenes)))
    # The same video with the threshold at its maximum keeps only frames that differ at all.
    strict = VideoConfig(best_frame=BestFrameConfig(samples=200, span=1.0, duplicate_threshold=1.0))
    assert len(score_frames(data, config=strict, face_detector=None)) > len(scenes)


def test_span_limits_the_sampled_part(bikes: bytes) -> None:
    config = VideoConfig(best_frame=BestFrameConfig(samples=10, span=0.2))
    kept = score_frames(bikes, config=config, face_detector=None)
    assert kept and all(item.index < 50 for item in kept)


def test_long_videos_are_sampled_at_keyframes(bikes: bytes, bikes_ref: Reference) -> None:
    # 4 samples over 250 frames is beyond the sequential budget: one keyframe per sample.
    config = VideoConfig(best_frame=BestFrameConfig(samples=4, span=1.0, duplicate_threshold=1.0))
    kept = score_frames(bikes, config=config, face_detector=None)
    assert kept
    assert {item.index for item in kept} <= set(bikes_ref.keyframes)
    for item in kept:
        assert np.array_equal(_array(item.image), bikes_ref.frames[item.index])


def test_frames_over_the_memory_budget_are_decoded_again(
    bikes: bytes, bikes_ref: Reference, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imgproxy_py.media import bestframe

    kept_in_memory = best_frames(bikes, config=CONFIG, face_detector=None, top_k=3)
    monkeypatch.setattr(bestframe, "_FRAME_MEMORY_BUDGET", 0)
    ranked = best_frames(bikes, config=CONFIG, face_detector=None, top_k=3)
    assert ranked == kept_in_memory  # images are not compared: they are checked below
    for item in ranked:
        assert np.array_equal(_array(item.image), bikes_ref.frames[item.index])


@dataclass(frozen=True)
class FakeDetection:
    confidence: float
    left: float
    top: float
    width: float
    height: float
    class_name: str = "face"


def test_face_score() -> None:
    assert face_score([], 100, 100) == 0.0
    big = FakeDetection(0.9, 0, 0, 50, 50)
    small = FakeDetection(0.9, 0, 0, 5, 5)
    assert face_score([big], 100, 100) == pytest.approx(0.9)
    assert 0 < face_score([small], 100, 100) < face_score([big], 100, 100)
    assert face_score([big, small], 100, 100) > face_score([big], 100, 100)
    assert face_score([big] * 10, 100, 100) <= 1.0


def test_representative_face_prefers_the_sharpest_big_face() -> None:
    rng = np.random.default_rng(0)
    canvas = np.full((200, 400, 3), 128, np.uint8)
    sharp = rng.integers(0, 256, (60, 60, 3), dtype=np.uint8)
    canvas[70:130, 40:100] = sharp
    blurred = skimage.filters.gaussian(sharp, sigma=4, channel_axis=-1, preserve_range=True).astype(np.uint8)
    canvas[70:130, 300:360] = blurred
    image = pyvips.Image.new_from_array(canvas, interpretation="srgb")
    boxes = [
        FakeDetection(0.95, 300, 70, 60, 60),  # blurred, surer
        FakeDetection(0.90, 40, 70, 60, 60),  # sharp
        FakeDetection(0.99, 0, 0, 400, 200, class_name="person"),  # not a face: ignored
    ]
    face = representative_face([image], lambda _: boxes, size=64)
    assert face is not None and (face.width, face.height) == (64, 64)
    centre = _array(face)[24:40, 24:40].astype(float)
    assert centre.std() > 40, "the sharp (noisy) block should be the chosen face"
    assert representative_face([image], lambda _: [], size=64) is None


def test_probe_settings_reach_the_demuxer(bikes: bytes, bikes_ref: Reference) -> None:
    """IMGPROXY_VIDEO_THUMBNAIL_PROBE_SIZE (bytes) and _MAX_ANALYZE_DURATION (milliseconds) are
    FFmpeg's probesize and analyzeduration (microseconds), as imgproxy passes them.  MP4 declares
    its streams in its header, so even FFmpeg's smallest probe finds the same frames."""
    from imgproxy_py.media.video import VideoReader

    config, problems = VideoConfig.from_env({"IMGPROXY_VIDEO_THUMBNAIL_PROBE_SIZE": "32",
                                             "IMGPROXY_VIDEO_THUMBNAIL_MAX_ANALYZE_DURATION": "1"})
    assert problems == []
    with VideoReader(bikes, config, time.monotonic() + 30) as reader:
        assert {k: reader.container.options[k] for k in ("probesize", "analyzeduration")} == {
            "probesize": "32", "analyzeduration": "1000"}
    with VideoReader(bikes, CONFIG, time.monotonic() + 30) as reader:
        assert reader.container.options["probesize"] == "5000000"  # imgproxy's default, and FFmpeg's
        assert "analyzeduration" not in reader.container.options  # 0: FFmpeg's heuristic
    frame = extract_frame(bikes, second=2, config=config)
    assert frame.index == 50 and np.array_equal(_array(frame.image), bikes_ref.frames[50])
    assert VideoConfig.from_env({"IMGPROXY_VIDEO_THUMBNAIL_PROBE_SIZE": "16"})[1]  # below FFmpeg's 32
