"""URL-table rows of the delivery options (see tests/url_rows/__init__.py)."""

from __future__ import annotations

from imgproxy_py.options.values_delivery import HashsumCheck, SecurityOverrides, VideoFrames
from tests.url_rows import Row

ROWS: list[Row] = [
    ("pages", lambda o: o.pages(3), {"pages": 3}),
    ("video_thumbnail_tile", lambda o: o.video_thumbnail_tile(3, 4, 3, 160, 90, fill=True, focus_x=0.25),
     {"video_tile": VideoFrames(3.0, 4, 3, 160, 90, fill=True, focus_x=0.25)}),
    ("video_thumbnail_tile", lambda o: o.video_thumbnail_tile(2.5, 2, 2, 64, 64, True, True),
     {"video_tile": VideoFrames(2.5, 2, 2, 64, 64, extend=True, trim=True)}),
    ("video_thumbnail_animation", lambda o: o.video_thumbnail_animation(1, 200, 10, 320, 180, True),
     {"video_animation": VideoFrames(1.0, 10, 1, 320, 180, extend=True, delay=200)}),
    ("bypass_cache", lambda o: o.bypass_cache(), {"bypass_cache": True}),
    ("cache_tags", lambda o: o.cache_tags("cats", "kitten-1"), {"cache_tags": ("cats", "kitten-1")}),
    ("hashsum", lambda o: o.hashsum("md5", "D41D8CD98F00B204E9800998ECF8427E"),
     {"hashsum": HashsumCheck("md5", "d41d8cd98f00b204e9800998ecf8427e")}),
    ("hashsum", lambda o: o.hashsum("none"), {"hashsum": None}),
    ("max_src_resolution", lambda o: o.max_src_resolution(2.5),
     {"security": SecurityOverrides(max_src_resolution=2_500_000)}),
    ("max_src_file_size", lambda o: o.max_src_file_size(1000), {"security": SecurityOverrides(max_src_file_size=1000)}),
    ("max_animation_frames", lambda o: o.max_animation_frames(5),
     {"security": SecurityOverrides(max_animation_frames=5)}),
    ("max_animation_frame_resolution", lambda o: o.max_animation_frame_resolution(0.5),
     {"security": SecurityOverrides(max_animation_frame_resolution=500_000)}),
    ("max_result_dimension", lambda o: o.max_result_dimension(300),
     {"security": SecurityOverrides(max_result_dimension=300)}),
]
