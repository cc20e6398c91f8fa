"""A video's container metadata and streams (``video_meta``, ``video_streams``) with PyAV."""

from __future__ import annotations

import io
from typing import Any

import av

from imgproxy_py.media.video_io import UnsupportedVideoError, refuse_nested_open

_FORMAT_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi"  # the media module's demuxers


def probe(data: bytes) -> tuple[str, dict[str, str], list[dict[str, Any]]]:
    """The container's format names, its metadata, and one entry per stream."""
    try:
        with av.open(io.BytesIO(data), mode="r", options={"format_whitelist": _FORMAT_WHITELIST},
                     metadata_errors="ignore", io_open=refuse_nested_open) as container:
            meta = {str(k): str(v) for k, v in container.metadata.items()}
            streams = [_stream(s) for s in container.streams]
            return str(container.format.name), dict(sorted(meta.items())), streams
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise UnsupportedVideoError(f"cannot open the video: {exc}") from exc


def _stream(stream: Any) -> dict[str, Any]:
    codec = stream.codec_context  # None: a codec FFmpeg does not know (ffprobe's "unknown")
    entry: dict[str, Any] = {"type": stream.type, "codec": codec.name if codec is not None else "unknown"}
    if stream.duration is not None and stream.time_base is not None:
        entry["duration"] = round(float(stream.duration * stream.time_base), 3)
    bit_rate = (stream.bit_rate or codec.bit_rate) if codec is not None else None  # read through the codec
    if bit_rate and stream.type in ("video", "audio"):
        entry["bps"] = int(bit_rate)
    if stream.type == "video":
        rate = stream.average_rate or stream.guessed_rate
        if rate:
            entry["fps"] = round(float(rate), 3)
    elif stream.type == "audio" and codec is not None:
        entry["frequency"] = int(codec.sample_rate)
        layout = getattr(codec, "layout", None)
        if layout is not None:
            entry["layout"] = str(layout.name)
    language = stream.metadata.get("language")
    if language:
        entry["language"] = str(language)
    return entry
