"""One frame of a video as the source image: the frame at a number or a second."""

from __future__ import annotations

import math

from imgproxy_py.media.video import FrameOutOfRangeError, VideoConfig, VideoFrame, VideoReader


def extract_frame(
    data: bytes,
    *,
    second: float | None = None,
    frame: int | None = None,
    keyframes: bool = False,
    config: VideoConfig,
    deadline: float | None = None,
) -> VideoFrame:
    """The frame numbered ``frame`` (zero-based), or the one shown at ``second``.

    With neither, ``config.thumbnail_second`` is used.  ``second`` is clamped to the video's
    duration; with ``keyframes`` the keyframe at or before it is returned instead (faster, less
    precise).  ``deadline`` is a ``time.monotonic()`` value; ``config.decode_timeout`` applies too.
    """
    if second is not None and frame is not None:
        raise ValueError("pass either second or frame, not both")
    limit = config.deadline(deadline)
    with VideoReader(data, config, limit) as reader:
        if frame is not None:
            return reader.frame_at_index(frame)
        seconds = config.thumbnail_second if second is None else second
        if not math.isfinite(seconds):
            raise FrameOutOfRangeError(f"second {seconds} is not a finite number")
        return reader.frame_at_time(seconds, keyframes=keyframes)
