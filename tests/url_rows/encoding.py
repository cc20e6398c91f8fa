"""URL-table rows of the encoding options (see tests/url_rows/__init__.py)."""

from __future__ import annotations

from imgproxy_py.options.values_encoding import AvifArgs, JpegArgs, WebpArgs
from tests.url_rows import Row

ROWS: list[Row] = [
    ("dpi", lambda o: o.dpi(300), {"dpi": 300.0}),
    ("dpi", lambda o: o.dpi(72.5), {"dpi": 72.5}),
    ("color_profile", lambda o: o.color_profile("cmyk"), {"color_profile": "cmyk"}),
    ("color_profile", lambda o: o.color_profile("display-p3.icc"), {"color_profile": "display-p3.icc"}),
    ("jpeg_options", lambda o: o.jpeg_options(True, True, False, True, True, 3),
     {"jpeg_options": JpegArgs(True, True, False, True, True, 3)}),
    ("jpeg_options", lambda o: o.jpeg_options(no_subsample=True), {"jpeg_options": JpegArgs(no_subsample=True)}),
    ("jpeg_options", lambda o: o.jpeg_options(), {"jpeg_options": JpegArgs()}),
    ("webp_options", lambda o: o.webp_options("near_lossless", True, "drawing"),
     {"webp_options": WebpArgs("near_lossless", True, "drawing")}),
    ("webp_options", lambda o: o.webp_options(preset="text"), {"webp_options": WebpArgs(preset="text")}),
    ("avif_options", lambda o: o.avif_options("off"), {"avif_options": AvifArgs("off")}),
    ("avif_options", lambda o: o.avif_options(), {"avif_options": AvifArgs()}),
    ("style", lambda o: o.style("rect { fill: #00f }"), {"style": "rect { fill: #00f }"}),
]
