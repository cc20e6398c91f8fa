"""Named presets: ``IMGPROXY_PRESETS`` and the ``IMGPROXY_PRESETS_PATH`` file.

A preset value is the options part of a URL (``rs:fill:300:200/q:80``), which may hold
``-`` segments for chained pipelines.  Every preset is parsed and validated at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from imgproxy_py.options.registry import PresetPipelines


def parse_preset_value(value: str, separator: str = ":") -> PresetPipelines:
    pipelines: list[list[tuple[str, tuple[str, ...]]]] = [[]]
    for part in value.strip().strip("/").split("/"):
        part = part.strip()
        if not part:
            continue
        if part == "-":
            pipelines.append([])
            continue
        name, has_sep, args = part.partition(separator)
        if not has_sep:
            raise ValueError(f"{part!r} is not an option (name{separator}args)")
        pipelines[-1].append((name, tuple(args.split(separator))))
    return tuple(tuple(p) for p in pipelines)


def parse_preset_lines(lines: Iterable[tuple[str, str]], separator: str,
                       errors: list[str]) -> dict[str, PresetPipelines]:
    """``lines`` are (where, text) pairs; problems go to ``errors`` with their place."""
    presets: dict[str, PresetPipelines] = {}
    for where, text in lines:
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        name, eq, value = text.partition("=")
        name, value = name.strip(), value.strip()
        if not eq:
            errors.append(f"{where}: invalid preset string {text!r} (expected name=options)")
            continue
        if not name:
            errors.append(f"{where}: empty preset name")
            continue
        if not value:
            errors.append(f"{where}: empty preset value for {name!r}")
            continue
        if name in presets:
            errors.append(f"{where}: preset {name!r} is defined twice")
            continue
        try:
            presets[name] = parse_preset_value(value, separator)
        except ValueError as exc:
            errors.append(f"{where}: preset {name!r}: {exc}")
    return presets


def _file_lines(path: str, setting: str, errors: list[str]) -> list[tuple[str, str]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        errors.append(f"{setting}: cannot read {path!r}: {exc.strerror}")
        return []
    return [(f"{path}:{n}", line) for n, line in enumerate(text.splitlines(), start=1)]


BUNDLED_PRESETS_SEPARATOR = ":"


def load_presets(env_value: str, env_separator: str, path: str, separator: str,
                 errors: list[str], bundled: Path | None = None,
                 setting: str = "IMGPROXY_PRESETS") -> dict[str, PresetPipelines]:
    """The admin's presets (``IMGPROXY_PRESETS`` and ``IMGPROXY_PRESETS_PATH``; ``setting`` names
    another pair, such as ``IMGPROXY_INFO_PRESETS``) over the ``bundled`` ones: a name the admin
    defines replaces the bundled preset of that name."""
    presets: dict[str, PresetPipelines] = {}
    if bundled is not None:
        # Ours, written with imgproxy's default ":" whatever IMGPROXY_ARGUMENTS_SEPARATOR says.
        presets = parse_preset_lines(_file_lines(str(bundled), "bundled presets", errors),
                                     BUNDLED_PRESETS_SEPARATOR, errors)
    lines: list[tuple[str, str]] = []
    if env_value:
        lines += [(f"{setting}[{i}]", item)
                  for i, item in enumerate(env_value.split(env_separator), start=1)]
    if path:
        lines += _file_lines(path, f"{setting}_PATH", errors)
    return {**presets, **parse_preset_lines(lines, separator, errors)}
