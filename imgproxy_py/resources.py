"""Where the files that ship with imgproxy_py are: models, presets and the demo images.

In a wheel the top-level ``models/`` and ``presets/`` folders are installed as
``imgproxy_py/bundled/{models,presets}`` (pyproject maps them); in a checkout or an editable
install they are read where they are, beside the package.  Everything that needs a shipped
file asks here, so the two layouts cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    installed = _PACKAGE / "bundled" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def models_dir() -> Path:
    """The shipped models (CenterFace, the autoquality model)."""
    return _bundled("models")


def presets_dir() -> Path:
    """The shipped presets (``default.conf``) and media routes (``routes.conf``)."""
    return _bundled("presets")


def bundled_presets_file() -> Path:
    return presets_dir() / "default.conf"


def bundled_routes_file() -> Path:
    return presets_dir() / "routes.conf"


def demo_dir() -> Path:
    """The demo images that ``imgproxy-py serve --demo`` serves as ``local:///``."""
    return _PACKAGE / "demo"
