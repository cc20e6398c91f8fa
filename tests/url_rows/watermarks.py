"""URL-table rows of the watermarks options (see tests/url_rows/__init__.py)."""

from __future__ import annotations

from tests.url_rows import Row

ROWS: list[Row] = []
