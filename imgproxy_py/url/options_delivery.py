"""The URL builder's methods for pages, video tiles, caching, integrity and security options:
pages, video_thumbnail_tile, video_thumbnail_animation, bypass_cache, cache_tags, hashsum, max_* limits.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from imgproxy_py.url.arguments import fmt_bool, fmt_num, fmt_str, int_arg, non_negative, opt_bool, rstrip_empty, unit
from imgproxy_py.url.chain import OptionChain

HashsumType = Literal["none", "md5", "sha1", "sha256", "sha512"]
_DIGEST_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_HEX = re.compile(r"[0-9a-fA-F]+")


def _frames_tail(extend: bool | None, trim: bool | None, fill: bool | None,
                 focus_x: float | None, focus_y: float | None) -> list[str]:
    return [opt_bool(extend), opt_bool(trim), opt_bool(fill),
            "" if focus_x is None else unit(focus_x, "focus_x"), "" if focus_y is None else unit(focus_y, "focus_y")]


class DeliveryMethods(OptionChain):
    """Pages, video tiles, caching, integrity and security options of the URL builder."""

    def pages(self, pages: int) -> Self:
        """``pgs:%pages``: this many pages (frames) from ``page``, stacked top to bottom."""
        return self._push("pgs", "pages", int_arg(pages, "pages", minimum=1))

    def video_thumbnail_tile(self, step: float, columns: int, rows: int, tile_width: int, tile_height: int,
                             extend_tile: bool | None = None, trim: bool | None = None, fill: bool | None = None,
                             focus_x: float | None = None, focus_y: float | None = None) -> Self:
        """``vtt:%step:%columns:%rows:%tile_width:%tile_height:...``: a sprite of video frames.

        >>> str(DeliveryMethods().video_thumbnail_tile(-1, 4, 3, 160, 90, fill=True))
        'vtt:-1:4:3:160:90::1'
        """
        args = [fmt_num(step, "step"), int_arg(columns, "columns", minimum=1), int_arg(rows, "rows", minimum=1),
                int_arg(tile_width, "tile_width"), int_arg(tile_height, "tile_height"),
                *_frames_tail(extend_tile, trim, fill, focus_x, focus_y)]
        return self._push("vtt", "video_thumbnail_tile", *rstrip_empty(args))

    def video_thumbnail_animation(self, step: float, delay: int, frames: int, frame_width: int, frame_height: int,
                                  extend_frame: bool | None = None, trim: bool | None = None,
                                  fill: bool | None = None, focus_x: float | None = None,
                                  focus_y: float | None = None) -> Self:
        """``vta:%step:%delay:%frames:%frame_width:%frame_height:...``: an animation of video frames."""
        args = [fmt_num(step, "step"), int_arg(delay, "delay"), int_arg(frames, "frames", minimum=1),
                int_arg(frame_width, "frame_width"), int_arg(frame_height, "frame_height"),
                *_frames_tail(extend_frame, trim, fill, focus_x, focus_y)]
        return self._push("vta", "video_thumbnail_animation", *rstrip_empty(args))

    def bypass_cache(self, bypass: bool = True) -> Self:
        """``bc:%bypass``: skip the server's source and result caches."""
        return self._push("bc", "bypass_cache", fmt_bool(bypass))

    def cache_tags(self, *tags: str) -> Self:
        """``ct:%tag1:%tag2...``: tags for the response's cache-tag headers."""
        if not tags:
            raise ValueError("cache_tags needs at least one tag")
        for tag in tags:
            if not tag or "," in tag:
                raise ValueError(f"cache tag {tag!r} must be non-empty and without commas")
        return self._push("ct", "cache_tags", *(fmt_str(t, "cache tag") for t in tags))

    def hashsum(self, hashsum_type: HashsumType, hashsum: str = "") -> Self:
        """``hs:%hashsum_type:%hashsum``: the source's expected hex digest (a mismatch is a 422)."""
        if hashsum_type == "none":
            return self._push("hs", "hashsum", "none")
        length = _DIGEST_LENGTHS.get(hashsum_type)
        if length is None:
            raise ValueError(f"hashsum type must be none, md5, sha1, sha256 or sha512; got {hashsum_type!r}")
        if len(hashsum) != length or not _HEX.fullmatch(hashsum):
            raise ValueError(f"a {hashsum_type} hashsum is {length} hex digits, got {hashsum!r}")
        return self._push("hs", "hashsum", hashsum_type, hashsum.lower())

    def max_src_resolution(self, megapixels: float) -> Self:
        """``msr:%resolution``: ``IMGPROXY_MAX_SRC_RESOLUTION`` (megapixels) for this URL."""
        return self._push("msr", "max_src_resolution", non_negative(megapixels, "max_src_resolution"))

    def max_src_file_size(self, size: int) -> Self:
        """``msfs:%size``: ``IMGPROXY_MAX_SRC_FILE_SIZE`` (bytes) for this URL."""
        return self._push("msfs", "max_src_file_size", int_arg(size, "max_src_file_size"))

    def max_animation_frames(self, frames: int) -> Self:
        """``maf:%size``: ``IMGPROXY_MAX_ANIMATION_FRAMES`` for this URL."""
        return self._push("maf", "max_animation_frames", int_arg(frames, "max_animation_frames", minimum=1))

    def max_animation_frame_resolution(self, megapixels: float) -> Self:
        """``mafr:%size``: ``IMGPROXY_MAX_ANIMATION_FRAME_RESOLUTION`` (megapixels) for this URL."""
        return self._push("mafr", "max_animation_frame_resolution",
                          non_negative(megapixels, "max_animation_frame_resolution"))

    def max_result_dimension(self, size: int) -> Self:
        """``mrd:%size``: ``IMGPROXY_MAX_RESULT_DIMENSION`` (pixels) for this URL."""
        return self._push("mrd", "max_result_dimension", int_arg(size, "max_result_dimension"))
