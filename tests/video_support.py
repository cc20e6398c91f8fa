"""Helpers shared by the video tests: the stored test videos, and small videos made with PyAV."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

from imgproxy_py.media.video import VideoConfig

ASSETS = Path(__file__).parent / "assets"
MEDIA = ASSETS / "media"
CONFIG = VideoConfig()


def media_bytes(name: str) -> bytes:
    return (MEDIA / name).read_bytes()


def encode_video(frames: Sequence[np.ndarray], *, fps: int, fmt: str = "mp4", codec: str = "libx264",
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
