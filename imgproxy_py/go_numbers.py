"""Numbers as imgproxy reads them, with Go's ``strconv.Atoi`` and ``ParseFloat``: in settings,
URL arguments and client hints alike.

ASCII digits only: Python's ``int()`` and ``float()`` also take other scripts' digits, spaces and
``"1_000"``, which imgproxy refuses.  ``"nan"`` and ``"inf"``, which Go takes, are refused too:
no bound holds with them (imgproxy's ``int(inf * 1e6)`` is whatever the CPU makes of it).
"""

from __future__ import annotations

import re

INTEGER = re.compile(r"[+-]?[0-9]+")
# One way to split any string into these parts: with "[0-9]+\.?[0-9]*" a run of digits followed by
# something else was tried at every split, and 60,000 digits in a URL argument took 76 s to refuse.
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
