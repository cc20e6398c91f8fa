"""Many frames of one video as one picture: imgproxy Pro's ``video_thumbnail_tile`` (a sprite,
``columns`` x ``rows`` tiles, left to right then top to bottom) and
``video_thumbnail_animation`` (an animation, ``delay`` ms a frame).

Frames are taken ``step`` seconds apart from the first one's second (``vts``, else
``IMGPROXY_VIDEO_THUMBNAIL_SECOND``); a negative ``step`` shares out what is left of the video
after that second.  A frame due past the end is unused: ``trim`` leaves it out, otherwise its
tile or frame stays black.  Each frame is fitted into ``width`` x ``height`` (or, with
``fill``, covers it, cropped around the focus point); ``extend`` pads a fitted frame to that
size in black.  The result then goes through the normal pipeline like any decoded picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyvips

from imgproxy_py.errors import UnprocessableImageError
from imgproxy_py.media.video import UnsupportedVideoError, VideoConfig, VideoReader, VideoTimeoutError
from imgproxy_py.media.video_io import DECODE_ERRORS, Expired
from imgproxy_py.options.values_delivery import VideoFrames

BLACK = [0.0, 0.0, 0.0]
# libvips' fields of an animation: each frame's height, and how many there are.
PAGE_HEIGHT_FIELD = "page-height"
PAGES_FIELD = "n-pages"


def frame_times(frames: VideoFrames, start: float, duration: float | None) -> list[float | None]:
    """The second of each frame; None for one due past the end of the video."""
    step = frames.step
    if step < 0:
        if duration is None:
            raise UnprocessableImageError("a negative step needs the video's duration, which it doesn't give")
        step = max(0.0, duration - start) / frames.count
    times: list[float | None] = []
    for index in range(frames.count):
        second = start + index * step
        past_end = duration is not None and second > duration
        times.append(None if past_end else second)
    return times


def keyframe_interval(data: bytes, config: VideoConfig, deadline: float) -> tuple[float, float] | None:
    """The average seconds between keyframes (from the packets: nothing is decoded) and the
    duration; None when the video doesn't give its duration."""
    with VideoReader(data, config, deadline) as probe:
        if not probe.duration:
            return None
        keyframes = 0
        try:
            for count, packet in enumerate(probe.container.demux(probe.stream)):
                if count % 256 == 0:
                    probe.check_deadline()
                keyframes += bool(packet.is_keyframe and packet.size)
        except Expired:
            raise VideoTimeoutError("reading the video ran past the deadline") from None
        except DECODE_ERRORS as exc:
            raise UnsupportedVideoError(f"cannot read the video: {exc}") from exc
        return probe.duration / max(1, keyframes), probe.duration


def _use_keyframes(data: bytes, frames: VideoFrames, start: float, keyframes: bool, config: VideoConfig,
                   deadline: float) -> bool:
    """``IMGPROXY_VIDEO_THUMBNAIL_TILE_AUTO_KEYFRAMES``: keyframes only when frames are further
    apart than keyframes are (faster, and as precise as the step needs)."""
    if keyframes or not config.tile_auto_keyframes:
        return keyframes
    measured = keyframe_interval(data, config, deadline)
    if measured is None:
        return False
    interval, duration = measured
    step = frames.step if frames.step > 0 else max(0.0, duration - start) / frames.count
    return step > interval


def _scale(frame: pyvips.Image, frames: VideoFrames) -> pyvips.Image:
    width, height = frames.width, frames.height
    if frames.fill and width and height:
        scale = max(width / frame.width, height / frame.height)
        scaled = frame.resize(scale)
        # The focus point at the centre of the tile as far as the frame allows (gravity fp).
        left = min(max(0, round(frames.focus_x * scaled.width - width / 2)), max(0, scaled.width - width))
        top = min(max(0, round(frames.focus_y * scaled.height - height / 2)), max(0, scaled.height - height))
        return scaled.crop(left, top, min(width, scaled.width), min(height, scaled.height))
    scales = [s for s in (width / frame.width if width else 0.0, height / frame.height if height else 0.0) if s]
    scale = min(scales)
    target_w = max(1, round(frame.width * scale))
    target_h = max(1, round(frame.height * scale))
    return frame.resize(target_w / frame.width, vscale=target_h / frame.height)


def _cell(frames: VideoFrames, scaled: list[pyvips.Image]) -> tuple[int, int]:
    if frames.extend or (frames.fill and frames.width and frames.height):
        return frames.width or max(s.width for s in scaled), frames.height or max(s.height for s in scaled)
    return max(s.width for s in scaled), max(s.height for s in scaled)


def _fit_cell(tile: pyvips.Image | None, width: int, height: int) -> pyvips.Image:
    if tile is None:
        return pyvips.Image.black(width, height, bands=3).copy(interpretation="srgb").cast("uchar")
    if (tile.width, tile.height) == (width, height):
        return tile
    return tile.gravity("centre", width, height, extend="background", background=BLACK)


# Called with the cell size and the number of cells once the first frame is scaled, before the
# others are decoded: a picture past the resolution limits is refused then, not at the end.
CheckCells = Callable[[int, int, int], None]


def sample(data: bytes, frames: VideoFrames, start: float, keyframes: bool, config: VideoConfig,
           deadline: float, check: CheckCells) -> tuple[list[pyvips.Image | None], tuple[int, int]]:
    """Each frame scaled (None where unused, left out with ``trim``), and the cell size."""
    keyframes = _use_keyframes(data, frames, start, keyframes, config, deadline)
    with VideoReader(data, config, deadline) as reader:
        times = frame_times(frames, start, reader.duration)
        if frames.trim:
            times = [t for t in times if t is not None]
        if not any(t is not None for t in times):
            raise UnprocessableImageError(f"the video ends before second {start:g}")
        scaled: list[pyvips.Image | None] = []
        checked = False
        for second in times:
            frame = None if second is None else _scale(reader.frame_at_time(second, keyframes=keyframes).image, frames)
            if frame is not None and not checked:  # the first: all frames have its size
                check(*_cell(frames, [frame]), len(times))
                checked = True
            scaled.append(frame)
    used = [s for s in scaled if s is not None]
    return scaled, _cell(frames, used)


def _grid(frames: VideoFrames, cells: int) -> tuple[int, int]:
    columns = min(frames.columns, cells)
    return columns, math.ceil(cells / columns)


def sprite(data: bytes, frames: VideoFrames, start: float, keyframes: bool, config: VideoConfig,
           deadline: float, check_size: CheckCells) -> pyvips.Image:
    """``video_thumbnail_tile``: one still picture of ``columns`` x ``rows`` tiles;
    ``check_size(width, height, 1)`` is called with its size before most frames are decoded."""

    def check(cell_width: int, cell_height: int, cells: int) -> None:
        columns, rows = _grid(frames, cells)
        check_size(columns * cell_width, rows * cell_height, 1)

    scaled, (width, height) = sample(data, frames, start, keyframes, config, deadline, check)
    columns, rows = _grid(frames, len(scaled))
    cells = [_fit_cell(tile, width, height) for tile in scaled]
    cells += [_fit_cell(None, width, height)] * (columns * rows - len(cells))
    return pyvips.Image.arrayjoin(cells, across=columns).copy_memory()


def animation(data: bytes, frames: VideoFrames, start: float, keyframes: bool, config: VideoConfig,
              deadline: float, check_size: CheckCells) -> pyvips.Image:
    """``video_thumbnail_animation``: the frames stacked with ``page-height``, ``delay`` ms each;
    ``check_size(width, height, frames)`` is called with a frame's size before most are decoded."""
    scaled, (width, height) = sample(data, frames, start, keyframes, config, deadline, check_size)
    cells = [_fit_cell(tile, width, height) for tile in scaled]
    joined = pyvips.Image.arrayjoin(cells, across=1).copy_memory()
    joined.set_type(pyvips.GValue.gint_type, PAGE_HEIGHT_FIELD, height)
    joined.set_type(pyvips.GValue.gint_type, PAGES_FIELD, len(cells))
    joined.set_type(pyvips.GValue.array_int_type, "delay", [frames.delay] * len(cells))
    joined.set_type(pyvips.GValue.gint_type, "loop", 0)
    return joined
