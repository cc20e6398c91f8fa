"""What FFmpeg reads through, and the errors a video ends with: the low level under ``video``.

The bytes are served from memory and stop at the deadline, or once the request's client has
left; nested opens (playlists, external references) are refused, so a crafted file cannot make
FFmpeg read other files or URLs."""

from __future__ import annotations

import io
import time
from typing import Any

import av

from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import ImgproxyError


class VideoError(ImgproxyError):
    """Base of every video failure; ``status`` is the HTTP status to answer with."""

    status = 422
    default_public_message = "Unprocessable video"


class UnsupportedVideoError(VideoError):
    default_public_message = "Unsupported or broken video"


class VideoTooBigError(VideoError):
    default_public_message = "Source video file is too big"


class VideoTooLongError(VideoError):
    default_public_message = "Source video is too long"


class FrameOutOfRangeError(VideoError):
    default_public_message = "Requested video frame is out of range"


class VideoTimeoutError(VideoError):
    status = 503
    default_public_message = "Timeout"


class Expired(Exception):
    """Raised from inside FFmpeg's read callback or the decode loop when the deadline passes."""


def time_is_up(deadline: float, request: Deadline | None) -> bool:
    """Whether a video's work must stop: its deadline has passed, or its request's client has
    left (``request``: the request's deadline, ``deadline.REQUEST_DEADLINE``; cancelled then)."""
    return time.monotonic() > deadline or (request is not None and request.cancelled)


class DeadlineIO(io.BytesIO):
    """The video bytes, read by FFmpeg; refuses to serve more data once the time is up."""

    def __init__(self, data: bytes, deadline: float, request: Deadline | None) -> None:
        super().__init__(data)
        self._deadline = deadline
        self._request = request

    def read(self, size: int | None = -1) -> bytes:
        if time_is_up(self._deadline, self._request):
            raise Expired
        return super().read(size)


DECODE_ERRORS = (av.FFmpegError, ValueError, OSError, EOFError, IndexError)


def refuse_nested_open(url: str, flags: int, options: dict[str, Any]) -> None:
    raise PermissionError(f"the video tried to open another resource ({url!r})")
