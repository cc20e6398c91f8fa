"""Video frames and best-frame selection on real videos (tests/assets/media, see PROVENANCE.md)."""

from __future__ import annotations

import io
import statistics
import time
from dataclasses import dataclass
from fractions import Fraction

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
from imgproxy_py.media.video import FrameOutOfRangeError, VideoConfig, VideoFrame, orient
from imgproxy_py.media.video_frame import extract_frame
from tests.video_support import CONFIG, encode_video, media_bytes


@pytest.fixture(scope="module")
def carphone() -> bytes:
    return media_bytes("carphone_pristine.mp4")


@pytest.fixture(scope="module")
def bikes() -> bytes:
    return media_bytes("bikes.mp4")


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
    data = encode_video([base] * 3, fps=5, rotation=90)
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
    data = encode_video(frames, fps=10, fmt="webm", codec="libvpx")
    reference = _reference(data)
    for number in (0, 7, 19):
        frame = extract_frame(data, frame=number, config=CONFIG)
        assert np.array_equal(_array(frame.image), reference.frames[number])
    with pytest.raises(FrameOutOfRangeError):
        extract_frame(data, frame=20, config=CONFIG)


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
    data = encode_video([scene for scene in scenes for _ in range(repeats)], fps=6)
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
