"""What FFmpeg reads through, and the errors a video ends with: the low level under ``video``.

The bytes are served from memory and stop at the deadline; nested opens (playlists, external
references) are refused, so a crafted file cannot make FFmpeg read other files or URLs."""

from __future__ import annotations

import io
import time
from typing import Any

import av

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


class DeadlineIO(io.BytesIO):
    """The video bytes, read by FFmpeg; refuses to serve more data once the deadline has passed."""

    def __init__(self, data: bytes, deadline: float) -> None:
        super().__init__(data)
        self._deadline = deadline

    def read(self, size: int | None = -1) -> bytes:
        if time.monotonic() > self._deadline:
            raise Expired
        return super().read(size)


DECODE_ERRORS = (av.FFmpegError, ValueError, OSError, EOFError, IndexError)


def refuse_nested_open(url: str, flags: int, options: dict[str, Any]) -> None:
    raise PermissionError(f"the video tried to open another resource ({url!r})")
