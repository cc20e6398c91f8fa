"""Faces followed through a video: face traces, each with its best face.

Frames are sampled evenly over the whole video (``IMGPROXY_VIDEO_FACE_TRACE_SAMPLES``) and faces
detected on an analysis copy (at most 320 pixels on its long side).  A face continues a trace
when its box overlaps (IoU >= 0.3) the trace's face in the previous sample; the best pairs are
taken first, and each trace takes at most one face per sample.  A face that continues no trace
starts one.

A trace's representative face is chosen as the video API chooses one: its ten faces with the
largest area times confidence, then the sharpest of those (variance of the Laplacian of the face
at 96x96).  Each face also reports

* ``quality``: confidence times a size term (full credit from 2% of the frame up), as faces count
  in the best-frame score;
* ``blur``: ``100 / (100 + sharpness)``, from 0 (crisp) to 1 (flat).

Traces are ordered by face count (then by their best face's quality): trace 0 is the largest.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field

import av
import numpy as np
import pyvips
from av.video.reformatter import VideoReformatter

from imgproxy_py.media.bestframe import sample_frames
from imgproxy_py.media.faces import FaceDetector, face_thumbnail, is_face, laplacian_variance
from imgproxy_py.media.video import FrameOutOfRangeError, VideoConfig, VideoReader, orient

logger = logging.getLogger("imgproxy_py.media")

_ANALYSIS_SIDE = 320
_LINK_IOU = 0.3
_CANDIDATES = 10
_FULL_FACE_AREA = 0.02
_BLUR_SCALE = 100.0
# Traces need the sampled frames themselves, not the nearest keyframes (a clip may have one
# keyframe): frames are decoded in sequence up to this many per sample (25 fps and 60 samples: a
# minute), the cheap part next to detection.
_SEQUENTIAL_FACTOR = 25
# Traces beyond this many (the smallest) are dropped: a crowd would otherwise cost a full-frame
# decode per face.
MAX_TRACES = 32
FACE_SIZE = 320


@dataclass(frozen=True)
class TracedFace:
    """One face in one sampled frame; the box is in pixels of the upright full-size frame."""

    frame: int
    timestamp: float
    left: float
    top: float
    width: float
    height: float
    confidence: float
    quality: float
    blur: float
    sharpness: float


@dataclass(frozen=True)
class FaceTrace:
    faces: tuple[TracedFace, ...]
    best: TracedFace
    # The best face as a FACE_SIZE square (sRGB, in memory).
    image: pyvips.Image = field(repr=False, compare=False)

    @property
    def first_frame(self) -> int:
        return self.faces[0].frame

    @property
    def last_frame(self) -> int:
        return self.faces[-1].frame


@dataclass
class _Open:
    faces: list[TracedFace]
    last_box: tuple[float, float, float, float]  # analysis pixels
    last_sample: int


def face_traces(data: bytes, *, config: VideoConfig, face_detector: FaceDetector,
                deadline: float | None = None, samples: int | None = None) -> list[FaceTrace]:
    """The face traces of the video, largest first (at most ``MAX_TRACES``)."""
    settings = dataclasses.replace(config.best_frame, samples=samples or config.best_frame.trace_samples, span=1.0)
    with VideoReader(data, config, config.deadline(deadline)) as reader:
        reformatter = VideoReformatter()
        finished: list[_Open] = []
        active: list[_Open] = []
        full_size: tuple[int, int] | None = None
        for sample_number, (index, frame) in enumerate(sample_frames(reader, settings, _SEQUENTIAL_FACTOR)):
            reader.check_deadline()
            if full_size is None:
                upright = reader.to_image(frame)
                full_size = (upright.width, upright.height)
            seconds = reader.time_of(frame)
            timestamp = float(seconds) if seconds is not None else index / float(reader.fps or 1)
            analysis = _analysis(frame, reformatter)
            faces = _faces(analysis, face_detector, index)
            scale = (full_size[0] / analysis.width, full_size[1] / analysis.height)
            still, ended = _link(active, faces, analysis, scale, index, timestamp, sample_number)
            finished.extend(ended)
            active = still
        finished.extend(active)
        chosen = sorted(finished, key=lambda trace: len(trace.faces), reverse=True)[:MAX_TRACES]
        traces = []
        for trace in chosen:
            best = _representative(trace.faces)
            traces.append(FaceTrace(tuple(trace.faces), best, _face_image(reader, best)))
    traces.sort(key=lambda trace: (len(trace.faces), trace.best.quality), reverse=True)
    return traces


def _analysis(frame: av.VideoFrame, reformatter: VideoReformatter) -> pyvips.Image:
    scale = min(1.0, _ANALYSIS_SIDE / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    array = np.ascontiguousarray(reformatter.reformat(frame, width=width, height=height, format="rgb24",
                                                      interpolation="AREA").to_ndarray())
    image = pyvips.Image.new_from_memory(array.data, width, height, 3, "uchar").copy(interpretation="srgb")
    # In memory: the detector and the face crops both read it.
    return orient(image, frame.rotation).copy_memory()


def _faces(image: pyvips.Image, detector: FaceDetector, index: int) -> list[tuple[float, float, float, float, float]]:
    try:
        found = detector(image)
    except Exception as exc:  # a detector failure on one frame must not fail the whole video
        logger.warning("face detection failed on frame %d: %s", index, exc)
        return []
    return [(d.left, d.top, d.width, d.height, d.confidence) for d in found
            if is_face(d) and d.width >= 1 and d.height >= 1]


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _link(active: list[_Open], faces: list[tuple[float, float, float, float, float]], analysis: pyvips.Image,
          scale: tuple[float, float], index: int, timestamp: float, sample: int) -> tuple[list[_Open], list[_Open]]:
    """Traces still open after this sample, and those that ended before it."""
    pairs = sorted(((_iou(trace.last_box, face[:4]), t, f) for t, trace in enumerate(active)
                    for f, face in enumerate(faces)), reverse=True)
    taken_traces: set[int] = set()
    taken_faces: set[int] = set()
    links: dict[int, int] = {}
    for overlap, t, f in pairs:
        if overlap < _LINK_IOU:
            break
        if t in taken_traces or f in taken_faces:
            continue
        taken_traces.add(t)
        taken_faces.add(f)
        links[f] = t
    still: list[_Open] = []
    for f, face in enumerate(faces):
        traced = _traced(face, analysis, scale, index, timestamp)
        if f in links:
            trace = active[links[f]]
            trace.faces.append(traced)
            trace.last_box, trace.last_sample = face[:4], sample
            still.append(trace)
        else:
            still.append(_Open([traced], face[:4], sample))
    ended = [trace for t, trace in enumerate(active) if t not in taken_traces]
    return still, ended


def _traced(face: tuple[float, float, float, float, float], analysis: pyvips.Image, scale: tuple[float, float],
            index: int, timestamp: float) -> TracedFace:
    left, top, width, height, confidence = face
    sharpness = _sharpness(analysis, left, top, width, height)
    size = min(1.0, math.sqrt(width * height / max(1.0, analysis.width * analysis.height) / _FULL_FACE_AREA))
    return TracedFace(
        frame=index, timestamp=timestamp,
        left=left * scale[0], top=top * scale[1], width=width * scale[0], height=height * scale[1],
        confidence=confidence, quality=min(1.0, max(0.0, confidence)) * size,
        blur=_BLUR_SCALE / (_BLUR_SCALE + sharpness), sharpness=sharpness,
    )


def _sharpness(image: pyvips.Image, left: float, top: float, width: float, height: float) -> float:
    x0, y0 = max(0, int(left)), max(0, int(top))
    x1, y1 = min(image.width, math.ceil(left + width)), min(image.height, math.ceil(top + height))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return 0.0
    crop = image.crop(x0, y0, x1 - x0, y1 - y0).colourspace("b-w")[0]
    crop = crop.resize(96 / crop.width, vscale=96 / crop.height)
    grey = np.ndarray(buffer=crop.cast("uchar").write_to_memory(), dtype=np.uint8,
                      shape=(crop.height, crop.width)).astype(np.float32)
    return laplacian_variance(grey)


def _representative(faces: list[TracedFace]) -> TracedFace:
    """The sharpest of the ten faces with the largest area times confidence."""
    candidates = sorted(faces, key=lambda face: face.width * face.height * face.confidence, reverse=True)
    return max(candidates[:_CANDIDATES], key=lambda face: face.sharpness)


def _face_image(reader: VideoReader, face: TracedFace) -> pyvips.Image:
    try:
        image = reader.frame_at_index(face.frame).image
    except FrameOutOfRangeError:
        # Frames sampled at keyframes carry an estimated number; their time finds them.
        image = reader.frame_at_time(face.timestamp).image
    return face_thumbnail(image, face, FACE_SIZE).copy_memory()
