"""Sources that libvips can't decode by itself: video frames and camera RAW, plus the
representative face of a photo or video.

Each turns the source bytes into one upright sRGB picture that then goes through the normal
pipeline, so crop, resize, gravity and detection all apply.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyvips

from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import FeatureUnavailableError, UnprocessableImageError, UnsupportedFormatError
from imgproxy_py.formats import SVG_CHECK_BYTES, sniff_format
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.codecs.load import Limits
from imgproxy_py.media import video_tiles
from imgproxy_py.media.bestframe import best_frames, representative_face
from imgproxy_py.media.raw import RawDecoder, sniff_raw
from imgproxy_py.media.traces import face_traces
from imgproxy_py.media.video import VideoConfig, is_video
from imgproxy_py.media.video_frame import extract_frame
from imgproxy_py.options.model import OutputOptions

# The most any sniffer reads, but for an SVG's text: the ISO media brands of a video or HEIF.
_SNIFFED_BYTES = 256


def recognise_source(head: bytes, complete: bool, *, svg_check_bytes: int = SVG_CHECK_BYTES) -> bool | None:
    """Whether a source whose first bytes are ``head`` is of a kind this server reads: an image
    (``formats.sniff_format``), a video container or a camera RAW file; None while more bytes
    could tell (``SizeLimit`` checks a download with it as it comes).  Each sniffer reads at most
    the first 256 bytes, or ``svg_check_bytes`` of what could be an SVG's text."""
    if sniff_format(head, svg_check_bytes) is not None or is_video(head) or sniff_raw(head[:16]) is not None:
        return True
    if complete:
        return False
    text = head[:_SNIFFED_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    needed = max(svg_check_bytes, _SNIFFED_BYTES) if text[:1] in (b"", b"<") else _SNIFFED_BYTES
    return None if len(head) < needed else False


def source_recogniser(svg_check_bytes: int) -> Callable[[bytes, bool], bool | None]:
    """``recognise_source`` for this ``IMGPROXY_MAX_SVG_CHECK_BYTES``."""
    return functools.partial(recognise_source, svg_check_bytes=svg_check_bytes)


@dataclass
class SpecialSources:
    video: VideoConfig
    raw: RawDecoder | None
    face_detector: Any = None  # DetectorSet.detect, when detection is on
    # Why RAW or detection can't run here (an extra not installed): such sources are refused
    # with that reason (501) rather than failing as an unknown format.
    raw_unavailable: str = ""
    detection_unavailable: str = ""
    # ExpressionModel.classify, when faces are detected and the best-frame score weighs expressions.
    expressions: Any = None

    def decode(self, data: bytes, out: OutputOptions, deadline: Deadline, limits: Limits) -> pyvips.Image | None:
        """The picture to process, or None when libvips should decode ``data`` itself; a video's
        sprite or animation past ``limits`` is refused once its first frame gives its size."""
        limit = time.monotonic() + max(0.0, deadline.remaining)
        picture: pyvips.Image | None = None
        if self.video.enabled and is_video(data):
            picture = self._video(data, out, limit, limits)
        elif self.raw is not None and self.raw.accepts(data):
            picture = self.raw.decode(data, deadline=limit)
        else:
            self.refuse_raw_when_off(data)
        if out.representative_face:
            picture = self._face(data, picture, out, limit)
        return picture

    def refuse_raw_when_off(self, data: bytes) -> None:
        """Camera RAW turned off (422) or not installed (501): a TIFF-based RAW would reach
        libvips as a TIFF and come out as its dark, undemosaiced sensor data, so it is refused
        as imgproxy refuses it (a RAW is never taken for a TIFF)."""
        if self.raw is None and sniff_raw(data) is not None:
            if self.raw_unavailable:
                raise FeatureUnavailableError(self.raw_unavailable)
            raise UnsupportedFormatError("camera RAW is off (IMGPROXY_ENABLE_RAW_FORMATS, IMGPROXY_RAW_ENABLED)")

    def _video(self, data: bytes, out: OutputOptions, limit: float, limits: Limits) -> pyvips.Image:
        if out.video_best:
            frames = best_frames(data, config=self.video, face_detector=self.face_detector, top_k=1,
                                 deadline=limit, expressions=self.expressions)
            if not frames:
                raise UnprocessableImageError("no frame could be decoded")
            return frames[0].image
        if out.video_frame is not None:
            return extract_frame(data, frame=out.video_frame, config=self.video, deadline=limit).image
        second = self.video.thumbnail_second if out.video_second is None else out.video_second
        keyframes = self.video.thumbnail_keyframes if out.video_keyframes is None else out.video_keyframes

        def check_size(width: int, height: int, frames: int) -> None:  # the request's own limits
            loader.check_size(width, height, limits, frames)

        if out.video_tile is not None:
            return video_tiles.sprite(data, out.video_tile, second, keyframes, self.video, limit, check_size)
        if out.video_animation is not None:
            return video_tiles.animation(data, out.video_animation, second, keyframes, self.video, limit, check_size)
        return extract_frame(data, second=second, keyframes=keyframes, config=self.video, deadline=limit).image

    def _face(self, data: bytes, picture: pyvips.Image | None, out: OutputOptions,
              limit: float) -> pyvips.Image:
        if self.face_detector is None:
            if self.detection_unavailable:
                raise FeatureUnavailableError(self.detection_unavailable)
            raise UnprocessableImageError("representative_face needs face detection")
        if picture is None:
            # Upright and decoded at a useful size; in memory, since detection and the face crop
            # both read it (a sequential decode can't be read twice).
            picture = pyvips.Image.thumbnail_buffer(data, 1600).copy_memory()
            images = [picture]
        elif self.video.enabled and is_video(data):
            # The best face of the largest face trace: the face seen most, at its best.
            traces = face_traces(data, config=self.video, face_detector=self.face_detector, deadline=limit)
            if not traces:
                raise UnprocessableImageError("no face found")
            return traces[0].image
        else:
            images = [picture]
        face = representative_face(images, self.face_detector, 320)
        if face is None:
            raise UnprocessableImageError("no face found")
        return face
