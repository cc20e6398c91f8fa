"""Names ``IMGPROXY_*`` variables that nothing read at start-up.

A typo (``IMGPROXY_QUALTY``) or a setting of an imgproxy feature we do not have yet would
otherwise be ignored without a word, and the server would quietly behave differently from
what its admin wrote.  Every subsystem reads its settings through the config root's
:class:`~imgproxy_py.envreader.TrackedEnv` once, in :func:`imgproxy_py.config.read_config`,
which records what it looked up: whatever it did not look up is not used.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

_IMGPROXY_SETTINGS = Path(__file__).with_name("imgproxy_settings.txt")
PREFIX = "IMGPROXY_"


@lru_cache(maxsize=1)
def imgproxy_settings() -> frozenset[str]:
    """Every setting imgproxy documents (open source and Pro, current and earlier versions)."""
    lines = _IMGPROXY_SETTINGS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def unread_settings(given: Iterable[str], read: Iterable[str]) -> list[str]:
    """One warning for each ``IMGPROXY_*`` name in ``given`` (the environment) not in ``read``."""
    read = set(read)
    ours = sorted(name for name in read if name.startswith(PREFIX))
    warnings = []
    for name in sorted(n for n in given if n.startswith(PREFIX) and n not in read):
        if name in imgproxy_settings():
            warnings.append(f"{name} is an imgproxy setting that imgproxy_py does not support yet: ignored")
            continue
        close = difflib.get_close_matches(name, ours + sorted(imgproxy_settings()), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"{name} is not a setting imgproxy_py knows: ignored{hint}")
    return warnings
