"""Pick the most representative frames of a video (the best face among images is in ``faces``).

Frames are sampled evenly over the first ``span`` of the video.  Near-duplicates (colour
histograms that correlate at ``duplicate_threshold`` or more) collapse onto the best frame of
their group, so a long static shot cannot fill the ranking.  Each remaining candidate is scored on

* sharpness: variance of the Laplacian of a downscaled grey copy, divided by the largest
  variance among the sampled frames (so 1 is the sharpest sampled frame);
* faces: from the face detector, when one is given; every face adds its confidence times a size
  term (full credit from 2% of the frame up), combined as ``1 - prod(1 - face)``;
* exposure: ``(1 - 2 * |mean luma - 0.5|) * (1 - clipped share)``, clipped meaning within 2% of
  black or white;
* expression: when an expression classifier is given too, the faces found are classified in one
  batch per frame and each face is worth ``sum(p(expression) * value(expression))`` (by default
  happy and surprise are worth 1, the others 0); the frame takes its most valuable face's worth,
  and reports that face's dominant expression and its probability;

and the score is their weighted mean (the faces and expression weights count only when their
models are given).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import av
import numpy as np
import numpy.typing as npt
import pyvips
from av.video.reformatter import VideoReformatter

from imgproxy_py.media.faces import (
    DetectionLike,
    ExpressionClassifier,
    FaceDetector,
    is_face,
    laplacian_variance,
    representative_face,
)
from imgproxy_py.media.video import BestFrameConfig, VideoConfig, VideoReader, orient

__all__ = [
    "BestFrameConfig",
    "DetectionLike",
    "ExpressionClassifier",
    "FaceDetector",
    "FrameScore",
    "best_frames",
    "representative_face",
    "score_frames",
]

logger = logging.getLogger("imgproxy_py.media")

FloatArray = npt.NDArray[np.float32]

# Analysis copies are at most this many pixels on their long side: the face detector works at
# this size anyway, and 200 of them take about 60 MB at most.
_ANALYSIS_SIDE = 320
_HISTOGRAM_BINS = 32
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Full frames are kept from the first pass while they fit in this budget; otherwise the best ones
# are decoded again at the end.
_FRAME_MEMORY_BUDGET = 256 * 1024 * 1024
# Sample every frame of the span sequentially while that is at most this many times the sample
# count; beyond it, seek to a keyframe per sample instead of decoding everything.
_SEQUENTIAL_FACTOR = 3
_FULL_FACE_AREA = 0.02
_CLIP_LOW, _CLIP_HIGH = 0.02 * 255, 0.98 * 255


@dataclass(frozen=True)
class FrameScore:
    """One candidate frame; ``score`` and the criteria are in [0, 1]."""

    index: int
    timestamp: float
    score: float
    sharpness: float
    faces: float
    exposure: float
    face_count: int
    image: pyvips.Image = field(repr=False, compare=False)
    expression: float = 0.0
    # The dominant expression of the face that gave ``expression``, and its probability.
    dominant_expression: str | None = None
    expression_probability: float = 0.0


@dataclass
class _Sample:
    index: int
    timestamp: float
    analysis: npt.NDArray[np.uint8]
    frame: av.VideoFrame | None
    rotation: int
    sharpness_raw: float
    exposure: float
    histogram: FloatArray
    sharpness: float = 0.0
    cheap_score: float = 0.0
    faces: float = 0.0
    face_count: int = 0
    expression: float = 0.0
    dominant_expression: str | None = None
    expression_probability: float = 0.0


@dataclass(frozen=True)
class _Models:
    faces: FaceDetector | None
    expressions: ExpressionClassifier | None


def best_frames(
    data: bytes,
    *,
    config: VideoConfig,
    face_detector: FaceDetector | None,
    top_k: int = 5,
    deadline: float | None = None,
    expressions: ExpressionClassifier | None = None,
) -> list[FrameScore]:
    """The ``top_k`` best distinct frames of the video, best first."""
    return score_frames(data, config=config, face_detector=face_detector, deadline=deadline, limit=top_k,
                        expressions=expressions)


def score_frames(
    data: bytes,
    *,
    config: VideoConfig,
    face_detector: FaceDetector | None = None,
    deadline: float | None = None,
    limit: int | None = None,
    expressions: ExpressionClassifier | None = None,
) -> list[FrameScore]:
    """Every distinct sampled frame (near-duplicates dropped), scored and sorted best first.

    ``limit`` keeps only the best ones (and decodes full frames only for them).  The face detector
    runs on at most ``max(4 * limit, 20)`` candidates, those ranked best by sharpness and exposure.
    """
    settings = config.best_frame
    stop = config.deadline(deadline)
    with VideoReader(data, config, stop) as reader:
        samples = _collect(reader, settings)
        if not samples:
            return []
        _score_cheap(samples, settings)
        kept = _drop_duplicates(samples, settings.duplicate_threshold)
        use_faces = face_detector is not None and settings.weight_faces > 0
        use_expressions = face_detector is not None and expressions is not None and settings.weight_expression > 0
        if use_faces or use_expressions:
            assert face_detector is not None
            budget = max(4 * limit, 20) if limit is not None else len(kept)
            models = _Models(face_detector, expressions if use_expressions else None)
            _detect_faces(kept[:budget], models, reader, settings)
        terms = (use_faces, use_expressions)
        ranked = sorted(kept, key=lambda sample: _final_score(sample, settings, *terms), reverse=True)
        if limit is not None:
            ranked = ranked[: max(0, limit)]
        return [
            FrameScore(
                index=sample.index,
                timestamp=sample.timestamp,
                score=_final_score(sample, settings, *terms),
                sharpness=sample.sharpness,
                faces=sample.faces,
                exposure=sample.exposure,
                face_count=sample.face_count,
                image=_full_image(reader, sample),
                expression=sample.expression,
                dominant_expression=sample.dominant_expression,
                expression_probability=sample.expression_probability,
            )
            for sample in ranked
        ]


# -- sampling -------------------------------------------------------------------------------------


def _collect(reader: VideoReader, settings: BestFrameConfig) -> list[_Sample]:
    width, height = reader.stream.codec_context.width, reader.stream.codec_context.height
    keep_frames = width * height * 3 // 2 * settings.samples <= _FRAME_MEMORY_BUDGET
    samples: list[_Sample] = []
    # One reformatter for all frames: it keeps its scaling context, which is costly to set up.
    reformatter = VideoReformatter()
    for index, frame in sample_frames(reader, settings):
        seconds = reader.time_of(frame)
        timestamp = float(seconds) if seconds is not None else index / float(reader.fps or 1)
        samples.append(_analyse(frame, index, timestamp, keep_frames, reformatter))
    return samples


def sample_frames(reader: VideoReader, settings: BestFrameConfig,
                  sequential_factor: int = _SEQUENTIAL_FACTOR) -> Iterator[tuple[int, av.VideoFrame]]:
    """``settings.samples`` frames spread over ``settings.span`` of the video, with their numbers:
    decoded in sequence while the span has at most ``sequential_factor`` times as many frames,
    else the keyframe nearest each sample's time."""
    count = settings.samples
    if reader.duration is None or reader.fps is None:
        # No duration to spread samples over: take the first frames, up to the sample count.
        for number, frame in enumerate(reader.frames()):
            if number >= count:
                return
            yield number, frame
        return
    end = reader.duration * settings.span
    span_frames = max(1, math.ceil(end * float(reader.fps)))
    if reader.frame_count is not None:
        span_frames = min(span_frames, max(1, math.ceil(reader.frame_count * settings.span)))
    if span_frames <= sequential_factor * count:
        yield from _sequential(reader, span_frames, count, end)
    else:
        yield from _keyframes(reader, end, count)


def _sequential(
    reader: VideoReader, span_frames: int, count: int, end: float
) -> Iterator[tuple[int, av.VideoFrame]]:
    if span_frames <= count:
        wanted = set(range(span_frames))
    else:
        wanted = {round(i * (span_frames - 1) / (count - 1)) for i in range(count)} if count > 1 else {0}
    last = max(wanted)
    for number, frame in enumerate(reader.frames()):
        seconds = reader.time_of(frame)
        # span_frames assumes the average rate; the span's end in time bounds variable rates too.
        if number > last or (number > 0 and seconds is not None and seconds > end):
            return
        if number in wanted:
            # Counted from the first frame: exactly the frame's number.
            yield number, frame


def _keyframes(reader: VideoReader, end: float, count: int) -> Iterator[tuple[int, av.VideoFrame]]:
    if not reader.constant_rate:
        reader.timestamp_table()  # read before decoding starts: it restarts the demuxer
    seen: set[int | None] = set()
    for i in range(count):
        reader.seek(reader.pts_at(end * (i + 0.5) / count))
        frame = next(reader.frames(keyframes_only=True), None)
        if frame is None or frame.pts in seen:
            continue
        seen.add(frame.pts)
        yield reader.index_estimate(frame, end * (i + 0.5) / count), frame


def _analyse(
    frame: av.VideoFrame, index: int, timestamp: float, keep_frame: bool, reformatter: VideoReformatter
) -> _Sample:
    scale = min(1.0, _ANALYSIS_SIDE / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    analysis = np.asarray(
        reformatter.reformat(frame, width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray(),
        dtype=np.uint8,
    )
    grey = analysis.astype(np.float32) @ _LUMA
    return _Sample(
        index=index,
        timestamp=timestamp,
        analysis=analysis,
        frame=frame if keep_frame else None,
        rotation=frame.rotation,
        sharpness_raw=laplacian_variance(grey),
        exposure=_exposure(grey),
        histogram=_histogram(analysis),
    )


# -- criteria -------------------------------------------------------------------------------------


def _exposure(grey: FloatArray) -> float:
    mean = float(grey.mean()) / 255.0
    clipped = float(np.count_nonzero((grey <= _CLIP_LOW) | (grey >= _CLIP_HIGH))) / grey.size
    return max(0.0, 1.0 - 2.0 * abs(mean - 0.5)) * (1.0 - clipped)


def _histogram(rgb: npt.NDArray[np.uint8]) -> FloatArray:
    """3 x 32-bin colour histogram, standardised so that a dot product / n is Pearson correlation."""
    # One bincount over all channels: channel c's bins are offset by c * 32.
    bins = (rgb >> 3).reshape(-1, 3).astype(np.intp) + np.arange(3, dtype=np.intp) * _HISTOGRAM_BINS
    counts = np.bincount(bins.ravel(), minlength=3 * _HISTOGRAM_BINS).astype(np.float32)
    std = float(counts.std())
    centred = counts - counts.mean()
    normalised: FloatArray = (centred / std if std > 0 else centred).astype(np.float32)
    return normalised


def _score_cheap(samples: list[_Sample], settings: BestFrameConfig) -> None:
    top = max(sample.sharpness_raw for sample in samples)
    weights = settings.weight_sharpness + settings.weight_exposure
    for sample in samples:
        sample.sharpness = sample.sharpness_raw / top if top > 0 else 0.0
        sample.cheap_score = (
            (settings.weight_sharpness * sample.sharpness + settings.weight_exposure * sample.exposure) / weights
            if weights > 0
            else 0.0
        )


def _drop_duplicates(samples: list[_Sample], threshold: float) -> list[_Sample]:
    """Best (by the criteria that need no detector) first; drop frames too similar to a kept one."""
    ordered = sorted(samples, key=lambda sample: sample.cheap_score, reverse=True)
    kept: list[_Sample] = []
    kept_histograms: list[FloatArray] = []
    size = ordered[0].histogram.size
    for sample in ordered:
        if kept_histograms:
            correlation = np.stack(kept_histograms) @ sample.histogram / size
            if float(correlation.max()) >= threshold:
                continue
        kept.append(sample)
        kept_histograms.append(sample.histogram)
    return kept


def _detect_faces(samples: Sequence[_Sample], models: _Models, reader: VideoReader,
                  settings: BestFrameConfig) -> None:
    """Faces of each sample, on its analysis copy (the detector downscales to its net size anyway),
    and their expressions (one batch per frame)."""
    assert models.faces is not None
    for sample in samples:
        reader.check_deadline()
        image = _analysis_image(sample)
        try:
            found = [d for d in models.faces(image) if is_face(d) and d.width > 0 and d.height > 0]
        except Exception as exc:  # a detector failure must not fail the thumbnail
            logger.warning("face detection failed on frame %d: %s", sample.index, exc)
            continue
        sample.face_count = len(found)
        sample.faces = face_score(found, image.width, image.height)
        if models.expressions is None or not found:
            continue
        try:
            expressions = models.expressions(image, found)
        except Exception as exc:  # nor must an expression model failure
            logger.warning("expression classification failed on frame %d: %s", sample.index, exc)
            continue
        for expression in expressions:
            worth = expression.value(settings.expression_values)
            if sample.dominant_expression is None or worth > sample.expression:
                sample.expression = worth
                sample.dominant_expression = expression.dominant
                sample.expression_probability = expression.probability


def face_score(faces: Sequence[DetectionLike], width: int, height: int) -> float:
    """``1 - prod(1 - confidence * size)``: more, larger and surer faces score higher, up to 1."""
    miss = 1.0
    area = max(1.0, float(width * height))
    for face in faces:
        size = min(1.0, math.sqrt(face.width * face.height / area / _FULL_FACE_AREA))
        miss *= 1.0 - min(1.0, max(0.0, face.confidence)) * size
    return 1.0 - miss


def _final_score(sample: _Sample, settings: BestFrameConfig, use_faces: bool, use_expressions: bool) -> float:
    faces_weight = settings.weight_faces if use_faces else 0.0
    expression_weight = settings.weight_expression if use_expressions else 0.0
    total = settings.weight_sharpness + settings.weight_exposure + faces_weight + expression_weight
    if total <= 0:
        return 0.0
    return (
        settings.weight_sharpness * sample.sharpness
        + settings.weight_exposure * sample.exposure
        + faces_weight * sample.faces
        + expression_weight * sample.expression
    ) / total


# -- images ---------------------------------------------------------------------------------------


def _analysis_image(sample: _Sample) -> pyvips.Image:
    """The analysis copy, upright (the detector expects upright faces); square pixels do not matter."""
    height, width = sample.analysis.shape[:2]
    image = pyvips.Image.new_from_memory(sample.analysis.data, width, height, 3, "uchar")
    return orient(image.copy(interpretation="srgb"), sample.rotation)


def _full_image(reader: VideoReader, sample: _Sample) -> pyvips.Image:
    if sample.frame is not None:
        return reader.to_image(sample.frame)
    # Frames did not fit the memory budget: decode this one again.
    return reader.frame_at_index(sample.index).image


