"""Values of the delivery options (imgproxy Pro's video tiles, caching and integrity
options, and imgproxy's security options).

Their arguments are parsed in ``options/delivery_args.py``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class HashsumCheck:
    """``hashsum:%type:%hashsum``: the source's expected digest, lower-case hex."""

    type: str
    digest: str

    def canonical(self) -> str:
        return f"{self.type}:{self.digest}"

    def matches(self, data: bytes) -> bool:
        return hashlib.new(self.type, data).hexdigest() == self.digest


@dataclass(frozen=True)
class SecurityOverrides:
    """The security options of one request; None keeps the ``IMGPROXY_MAX_*`` setting.
    Resolutions are in pixels (the URL gives megapixels, as the settings do)."""

    max_src_resolution: int | None = None
    max_src_file_size: int | None = None
    max_animation_frames: int | None = None
    max_animation_frame_resolution: int | None = None
    max_result_dimension: int | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.max_src_resolution, self.max_src_file_size, self.max_animation_frames,
                                          self.max_animation_frame_resolution, self.max_result_dimension))

    def canonical(self) -> str:
        return ":".join("" if v is None else str(v) for v in (
            self.max_src_resolution, self.max_src_file_size, self.max_animation_frames,
            self.max_animation_frame_resolution, self.max_result_dimension))


@dataclass(frozen=True)
class VideoFrames:
    """``video_thumbnail_tile`` (a sprite of ``columns`` x ``rows`` frames) or
    ``video_thumbnail_animation`` (``columns`` frames, ``rows`` 1, ``delay`` ms apart).

    ``step`` is seconds between frames; negative: the duration divided by the frame count."""

    step: float
    columns: int
    rows: int
    width: int
    height: int
    extend: bool = False
    trim: bool = False
    fill: bool = False
    focus_x: float = 0.5
    focus_y: float = 0.5
    delay: int = 0  # animation only

    @property
    def count(self) -> int:
        return self.columns * self.rows

    def canonical(self) -> str:
        flags = "".join("1" if f else "0" for f in (self.extend, self.trim, self.fill))
        return (f"{self.step!r}:{self.columns}:{self.rows}:{self.width}:{self.height}:{flags}:"
                f"{self.focus_x!r}:{self.focus_y!r}:{self.delay}")
