"""URL-table rows of the format options (see tests/url_rows/__init__.py)."""

from __future__ import annotations

from tests.url_rows import Row

ROWS: list[Row] = [
    ("preserve_hdr", lambda o: o.preserve_hdr(), {"preserve_hdr": True}),
    ("best_format", lambda o: o.best_format(), {"best_format": True, "format": None}),
]
