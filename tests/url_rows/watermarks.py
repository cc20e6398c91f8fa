"""URL-table rows of the watermarks options (see tests/url_rows/__init__.py)."""

from __future__ import annotations

from imgproxy_py.options.model import GravityType, WatermarkOptions
from imgproxy_py.options.values_watermarks import WatermarkStyle
from tests.url_rows import Row

ROWS: list[Row] = [
    ("watermark_url", lambda o: o.watermark_url("http://x/logo.png?a=b:c"),
     {"watermark_style": WatermarkStyle(url="http://x/logo.png?a=b:c")}),
    ("watermark_text", lambda o: o.watermark_text('<span foreground="red">©</span> me'),
     {"watermark_style": WatermarkStyle(text='<span foreground="red">©</span> me')}),
    ("watermark_size", lambda o: o.watermark_size(120, 40), {"watermark_style": WatermarkStyle(width=120, height=40)}),
    ("watermark_size", lambda o: o.watermark_size(0, 40), {"watermark_style": WatermarkStyle(height=40)}),
    ("watermark_rotate", lambda o: o.watermark_rotate(-45), {"watermark_style": WatermarkStyle(rotate=-45)}),
    ("watermark_shadow", lambda o: o.watermark_shadow(2.5), {"watermark_style": WatermarkStyle(shadow=2.5)}),
    ("watermark", lambda o: o.watermark(0.5, "ch", 4, 6).watermark_shadow(1),
     {"watermark": WatermarkOptions(0.5, GravityType.CHESSBOARD, 4, 6),
      "watermark_style": WatermarkStyle(shadow=1)}),
]
