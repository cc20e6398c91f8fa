"""One frame of a video as the source image: MP4/MOV, WebM/MKV and AVI, decoded with PyAV.

Everything is decoded from the bytes in memory (no temporary files).  The demuxers are limited to
those three families and nested opens (playlists, external references) are refused, so a
crafted file cannot make FFmpeg read other files or URLs.

Frame numbers are zero-based and count frames in presentation order; ``VideoReader`` explains
how a number maps to a timestamp so that lookups seek instead of decoding from the start.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import av
import av.container
import av.video
import numpy as np
import pyvips

from imgproxy_py.deadline import REQUEST_DEADLINE
from imgproxy_py.media.video_config import BestFrameConfig, VideoConfig
from imgproxy_py.media.video_io import (
    DECODE_ERRORS,
    DeadlineIO,
    Expired,
    FrameOutOfRangeError,
    UnsupportedVideoError,
    VideoError,
    VideoTimeoutError,
    VideoTooBigError,
    VideoTooLongError,
    refuse_nested_open,
    time_is_up,
)
from imgproxy_py.media.video_sniff import is_video

# Demuxers that may be probed; FFmpeg matches these against each demuxer's comma-separated names.
_FORMAT_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi"
# A timestamp this close to a requested second counts as "at" that second (float rounding of s).
_TIME_EPSILON = Fraction(1, 1_000_000)

# Callers of this module get the settings, the sniffing and the errors from here too.
__all__ = ["BestFrameConfig", "FrameOutOfRangeError", "UnsupportedVideoError", "VideoConfig", "VideoError",
           "VideoFrame", "VideoReader", "VideoTimeoutError", "VideoTooBigError", "VideoTooLongError", "is_video",
           "orient"]


# -- decoding -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoFrame:
    """A decoded frame, upright and with square pixels: sRGB, uchar, 3 bands."""

    image: pyvips.Image = field(repr=False, compare=False)
    index: int
    timestamp: float
    width: int
    height: int


class VideoReader:
    """An opened video stream with deadline-checked, frame-accurate access.

    Used as a context manager; every PyAV failure surfaces as a ``VideoError``.  Shared by
    ``extract_frame`` and ``bestframe``.

    Frame numbers come from timestamps.  When the container proves a constant frame rate (a
    frame count that matches ``duration * fps``, and the stream's base rate equal to its average
    rate) a frame's number is ``(pts - start) * time_base * fps``.  Otherwise the presentation
    timestamps of all packets are read once (demuxing only, no decoding) and sorted: the N-th of
    them is frame N's.  Either way the decoder then seeks to the keyframe before the wanted
    timestamp and decodes forward to it.
    """

    def __init__(self, data: bytes, config: VideoConfig, deadline: float) -> None:
        if config.max_file_size and len(data) > config.max_file_size:
            raise VideoTooBigError(f"video is {len(data)} bytes, the limit is {config.max_file_size}")
        if not is_video(data):
            raise UnsupportedVideoError("not an MP4/MOV, WebM/MKV or AVI file")
        self._data = data
        self._config = config
        self.deadline = deadline
        self._request = REQUEST_DEADLINE.get()  # cancelled: the client left, the decoding stops
        self._container: av.container.InputContainer | None = None
        self._used = False
        self._table: list[int] | None = None
        self._table_built = False
        self._container = self._open()
        # The first video stream FFmpeg can decode: one whose codec it does not know (a broken or
        # exotic codec tag) has no codec context.
        videos = self._container.streams.video
        self._video_index = next((k for k, stream in enumerate(videos) if stream.codec_context is not None), -1)
        if self._video_index < 0:
            self.close()
            raise UnsupportedVideoError("unknown video codec" if videos else "the file has no video stream")
        self.stream: av.video.VideoStream = videos[self._video_index]
        self.time_base: Fraction | None = self.stream.time_base
        rate = self.stream.average_rate or self.stream.guessed_rate or self.stream.base_rate
        self.fps: Fraction | None = Fraction(rate) if rate and rate > 0 else None
        self.start_pts: int = self.stream.start_time if self.stream.start_time is not None else 0
        self.duration: float | None = self._duration()
        self.frame_count: int | None = self.stream.frames or None
        self.constant_rate = self._constant_rate()
        self._sar = self._sample_aspect_ratio()
        if config.max_duration and self.duration is not None and self.duration > config.max_duration:
            self.close()
            raise VideoTooLongError(f"video lasts {self.duration:.1f} s, the limit is {config.max_duration:g} s")

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    # -- opening ---------------------------------------------------------------------------------

    def _open(self) -> av.container.InputContainer:
        try:
            return av.open(
                DeadlineIO(self._data, self.deadline, self._request),
                mode="r",
                options={"format_whitelist": _FORMAT_WHITELIST, **self._config.demuxer_options()},
                metadata_errors="ignore",
                io_open=refuse_nested_open,
            )
        except Expired:
            raise VideoTimeoutError("video probing ran past the deadline") from None
        except DECODE_ERRORS as exc:
            raise UnsupportedVideoError(f"cannot open the video: {exc}") from exc

    def _reopen(self) -> None:
        """A fresh demuxer and decoder at the start of the file."""
        self.close()
        self._container = self._open()
        self.stream = self._container.streams.video[self._video_index]
        self._used = False

    def _rewind(self) -> None:
        """Back to the first frame, for lookups that count frames from the start."""
        if self._used:
            self._reopen()

    @property
    def container(self) -> av.container.InputContainer:
        if self._container is None:
            raise UnsupportedVideoError("the video is closed")
        return self._container

    def _duration(self) -> float | None:
        if self.stream.duration and self.time_base:
            return float(self.stream.duration * self.time_base)
        if self.container.duration and self.container.duration > 0:
            return self.container.duration / av.time_base
        return None

    def _constant_rate(self) -> bool:
        """Whether the container proves a constant frame rate, so that timestamps number frames."""
        if self.fps is None or not self.time_base or self.frame_count is None or self.duration is None:
            return False
        base = self.stream.base_rate
        if not base or abs(base - self.fps) > self.fps / 1000:
            return False
        return abs(self.frame_count - self.duration * float(self.fps)) <= 1.5

    def _sample_aspect_ratio(self) -> float:
        sar = self.stream.codec_context.sample_aspect_ratio or self.stream.sample_aspect_ratio
        if not sar or sar <= 0:
            return 1.0
        # Absurd ratios come only from broken headers; ignore them rather than make huge images.
        return float(sar) if 0.1 <= sar <= 10 else 1.0

    # -- frames ----------------------------------------------------------------------------------

    def check_deadline(self) -> None:
        if time_is_up(self.deadline, self._request):
            raise VideoTimeoutError("video decoding ran past the deadline")

    def frames(self, *, keyframes_only: bool = False) -> Iterator[av.VideoFrame]:
        """Decoded frames from the current position, checking the deadline and the duration limit."""
        self._used = True
        self.stream.codec_context.skip_frame = "NONKEY" if keyframes_only else "DEFAULT"
        limit = self._config.max_duration if self.duration is None else 0.0
        decoded = self.container.decode(self.stream)
        while True:
            self.check_deadline()
            try:
                frame = next(decoded)
            except StopIteration:
                return
            except Expired:
                raise VideoTimeoutError("video decoding ran past the deadline") from None
            except DECODE_ERRORS as exc:
                raise UnsupportedVideoError(f"cannot decode the video: {exc}") from exc
            if limit:
                # Without a duration in the header the limit can only be enforced while decoding.
                seconds = self.time_of(frame)
                if seconds is not None and seconds > limit:
                    raise VideoTooLongError(f"video lasts over {limit:g} s")
            yield frame

    def seek(self, pts: int) -> None:
        """Position before the keyframe at or before ``pts`` (stream time base)."""
        self._used = True
        try:
            self.container.seek(pts, stream=self.stream, backward=True, any_frame=False)
        except Expired:
            raise VideoTimeoutError("video seeking ran past the deadline") from None
        except DECODE_ERRORS as exc:
            raise UnsupportedVideoError(f"cannot seek in the video: {exc}") from exc

    def _seek_or_rewind(self, pts: int) -> None:
        if pts > self.start_pts:
            self.seek(pts)
        else:
            self._rewind()

    def timestamp_table(self) -> list[int] | None:
        """Sorted presentation timestamps of every frame, from the packets (no decoding).

        None when some packet has no timestamp; then frames can only be counted by decoding.
        """
        if self._table_built:
            return self._table
        self._reopen()
        self._used = True
        table: list[int] = []
        try:
            for count, packet in enumerate(self.container.demux(self.stream)):
                if count % 256 == 0:
                    self.check_deadline()
                if packet.size == 0 or packet.is_discard:
                    continue
                if packet.pts is None:
                    table = []
                    break
                table.append(packet.pts)
                if self._too_long(packet.pts):
                    raise VideoTooLongError(f"video lasts over {self._config.max_duration:g} s")
        except Expired:
            raise VideoTimeoutError("reading the video ran past the deadline") from None
        except DECODE_ERRORS as exc:
            raise UnsupportedVideoError(f"cannot read the video: {exc}") from exc
        self._table = sorted(table) if table else None
        self._table_built = True
        self._reopen()
        return self._table

    def _too_long(self, pts: int) -> bool:
        """Whether ``pts`` is past the duration limit (checked only when the header has no duration)."""
        if not self._config.max_duration or not self.time_base or self.duration is not None:
            return False
        return (pts - self.start_pts) * self.time_base > self._config.max_duration

    def index_of(self, frame: av.VideoFrame) -> int | None:
        """The frame's number from its timestamp, or None when it cannot be known.

        Without a constant rate this needs ``timestamp_table()`` to have been read already (it
        cannot be read in the middle of decoding, since it restarts the demuxer).
        """
        if frame.pts is None:
            return None
        if self.constant_rate:
            assert self.fps is not None and self.time_base
            return round((frame.pts - self.start_pts) * self.time_base * self.fps)
        table = self._table
        if table is None:
            return None
        position = bisect.bisect_left(table, frame.pts)
        return position if position < len(table) and table[position] == frame.pts else None

    def time_of(self, frame: av.VideoFrame) -> Fraction | None:
        """Seconds since the stream's start."""
        if frame.pts is None or not self.time_base:
            return None
        return (frame.pts - self.start_pts) * self.time_base

    def pts_at(self, seconds: float) -> int:
        if not self.time_base:
            return self.start_pts
        return self.start_pts + math.floor(Fraction(seconds) / self.time_base)

    def to_image(self, frame: av.VideoFrame) -> pyvips.Image:
        """sRGB uchar copy, turned upright (display matrix) and stretched to square pixels."""
        array = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
        height, width = array.shape[:2]
        image = pyvips.Image.new_from_memory(array.data, width, height, 3, "uchar").copy(interpretation="srgb")
        return orient(image, frame.rotation, self._sar)

    def video_frame(self, frame: av.VideoFrame, index: int) -> VideoFrame:
        image = self.to_image(frame)
        seconds = self.time_of(frame)
        if seconds is None and self.fps is not None:
            seconds = Fraction(index) / self.fps
        return VideoFrame(
            image=image,
            index=index,
            timestamp=float(seconds) if seconds is not None else 0.0,
            width=image.width,
            height=image.height,
        )

    # -- frame lookups ---------------------------------------------------------------------------

    def frame_at_index(self, number: int) -> VideoFrame:
        if number < 0 or (self.frame_count is not None and number >= self.frame_count):
            raise FrameOutOfRangeError(f"frame {number} requested, the video has {self.frame_count or 'fewer'} frames")
        target = self._pts_of(number)
        if target is not None:
            self._seek_or_rewind(target)
            for frame in self.frames():
                # index_of is exact here: arithmetic for a constant rate, else the table.
                index = self.index_of(frame)
                if index is None or index > number:
                    break
                if index == number:
                    return self.video_frame(frame, number)
        # Timestamps could not find the frame (missing, or frames the decoder dropped): count.
        self._rewind()
        for count, frame in enumerate(self.frames()):
            if count == number:
                return self.video_frame(frame, number)
        raise FrameOutOfRangeError(f"frame {number} requested, the video ended before it")

    def _pts_of(self, number: int) -> int | None:
        if self.constant_rate:
            assert self.fps is not None and self.time_base
            # floor: never past the frame's own timestamp, whatever the muxer's rounding.
            return self.start_pts + math.floor(Fraction(number) / self.fps / self.time_base)
        table = self.timestamp_table()
        if table is None:
            return None
        if number >= len(table):
            raise FrameOutOfRangeError(f"frame {number} requested, the video has {len(table)} frames")
        return table[number]

    def frame_at_time(self, seconds: float, *, keyframes: bool = False) -> VideoFrame:
        seconds = max(0.0, seconds)
        if self.duration is not None:
            seconds = min(seconds, self.duration)
        if not self.constant_rate:
            self.timestamp_table()  # before decoding: frame numbers come from it
        if keyframes:
            frame = self._keyframe_before(self.pts_at(seconds))
            return self.video_frame(frame, self.index_estimate(frame, seconds))
        target = Fraction(seconds) + _TIME_EPSILON
        self._seek_or_rewind(self.pts_at(seconds))
        shown: av.VideoFrame | None = None
        for frame in self.frames():
            frame_time = self.time_of(frame)
            if shown is not None and frame_time is not None and frame_time > target:
                break
            shown = frame
        if shown is None:
            raise UnsupportedVideoError("the video has no decodable frames")
        return self.video_frame(shown, self.index_estimate(shown, seconds))

    def _keyframe_before(self, pts: int) -> av.VideoFrame:
        self._seek_or_rewind(pts)
        for frame in self.frames(keyframes_only=True):
            return frame
        # A seek past the last keyframe's packets can end the stream at once: use the first one.
        self._reopen()
        for frame in self.frames(keyframes_only=True):
            return frame
        raise UnsupportedVideoError("the video has no decodable keyframes")

    def index_estimate(self, frame: av.VideoFrame, fallback_seconds: float) -> int:
        """The frame's number (see ``index_of``); from its time and the average rate if unknown."""
        index = self.index_of(frame)
        if index is not None:
            return index
        seconds = self.time_of(frame)
        if self.fps is None:
            return 0
        return round((seconds if seconds is not None else Fraction(fallback_seconds)) * self.fps)


def orient(image: pyvips.Image, rotation: int, sample_aspect_ratio: float = 1.0) -> pyvips.Image:
    """Apply a display-matrix rotation (degrees counter-clockwise, as PyAV reports it) and the SAR."""
    if sample_aspect_ratio != 1.0:
        image = image.resize(sample_aspect_ratio, vscale=1.0)
    quarter_turns = round(rotation / 90) % 4
    if quarter_turns == 1:
        image = image.rot("d270")
    elif quarter_turns == 2:
        image = image.rot("d180")
    elif quarter_turns == 3:
        image = image.rot("d90")
    return image
