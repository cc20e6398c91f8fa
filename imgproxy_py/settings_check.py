"""Names ``IMGPROXY_*`` variables that nothing read at start-up.

A typo (``IMGPROXY_QUALTY``) or a setting of an imgproxy feature we do not have yet would
otherwise be ignored without a word, and the server would quietly behave differently from
what its admin wrote.  Every subsystem reads its settings through the config root's
:class:`~imgproxy_py.envreader.TrackedEnv`, so once start-up is done, whatever it did not look
up was not used.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from imgproxy_py.envreader import TrackedEnv

_IMGPROXY_SETTINGS = Path(__file__).with_name("imgproxy_settings.txt")
PREFIX = "IMGPROXY_"


@lru_cache(maxsize=1)
def imgproxy_settings() -> frozenset[str]:
    """Every setting imgproxy documents (open source and Pro, current and earlier versions)."""
    lines = _IMGPROXY_SETTINGS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def unread_settings(env: TrackedEnv, known: Iterable[str] = ()) -> list[str]:
    """One warning for each ``IMGPROXY_*`` variable that start-up did not read.

    ``known`` adds names read elsewhere (by a process that is not this one's start-up)."""
    read = env.read | set(known)
    ours = sorted(name for name in read if name.startswith(PREFIX))
    warnings = []
    for name in sorted(n for n in env if n.startswith(PREFIX) and n not in read):
        if name in imgproxy_settings():
            warnings.append(f"{name} is an imgproxy setting that imgproxy_py does not support yet: ignored")
            continue
        close = difflib.get_close_matches(name, ours + sorted(imgproxy_settings()), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"{name} is not a setting imgproxy_py knows: ignored{hint}")
    return warnings
