"""Short videos made in the tests from real photos (nothing here is a stored asset)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pyvips

ASSETS = Path(__file__).parent / "assets"
Frame = npt.NDArray[np.uint8]


def _rgb(image: pyvips.Image) -> Frame:
    image = image.colourspace("srgb")[:3].cast("uchar")
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, 3))


def smiling_face() -> Frame:
    """The astronaut's smiling face (scikit-image, NASA photo), 256x256, slightly soft: without
    the expression term the neutral face below is the sharper, better frame."""
    import skimage.data

    photo = pyvips.Image.new_from_array(skimage.data.astronaut()[0:256, 96:352]).copy(interpretation="srgb")
    return _rgb(photo.cast("uchar").gaussblur(1.2))


def neutral_face() -> Frame:
    """Grace Hopper's portrait (neutral), 128x128 scaled to 256x256."""
    return _rgb(pyvips.Image.new_from_file(str(ASSETS / "detection" / "hopper.jpg")).resize(2.0))


def encode(segments: Sequence[Frame], *, repeat: int = 2, fps: int = 5, container: str = "mp4") -> bytes:
    """Each frame of ``segments`` shown ``repeat`` times: MPEG-4 part 2 (VP8 in WebM) in ``container``."""
    buffer = io.BytesIO()
    height, width = segments[0].shape[:2]
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream("libvpx" if container == "webm" else "mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 2_000_000
        for segment in segments:
            for _ in range(repeat):
                for packet in stream.encode(av.VideoFrame.from_ndarray(segment, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def smile_clip(container: str = "mp4") -> bytes:
    """8 frames: neutral, neutral, smiling, smiling, neutral, neutral, smiling, smiling."""
    neutral, smiling = neutral_face(), smiling_face()
    return encode([neutral, smiling, neutral, smiling], container=container)


SMILING_FRAMES = frozenset({2, 3, 6, 7})
