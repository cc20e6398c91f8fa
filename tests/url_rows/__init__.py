"""Rows of ``tests/test_url_table.py`` for the newer option families, one module per family
(``color``, ``sharpness``, ``watermarks``, ``encoding``, ``delivery``, ``formats``), each a ``ROWS`` list of
``(method, call, fields the server must read back)``."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from imgproxy_py.urls import Options

Row = tuple[str, Callable[[Options], Options], dict[str, Any]]


def all_rows() -> list[Row]:
    rows: list[Row] = []
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        rows += importlib.import_module(f"{__name__}.{module}").ROWS
    return rows
