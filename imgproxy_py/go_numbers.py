"""Numbers as imgproxy reads them, with Go's ``strconv.Atoi`` and ``ParseFloat``: in settings,
URL arguments and client hints alike.

ASCII digits only: Python's ``int()`` and ``float()`` also take other scripts' digits, spaces,
``"1_000"``, ``"nan"`` and ``"inf"``, which imgproxy refuses (and with which no bound holds).
"""

from __future__ import annotations

import re

INTEGER = re.compile(r"[+-]?[0-9]+")
DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
