"""Extension points: a third-party package adds processing options with their steps, source
backends or detectors, with the same declarations as the built-in ones.

A plugin is a distribution with an entry point in the ``imgproxy_py.plugins`` group whose
object is a :class:`Plugin` (or a function returning one)::

    [project.entry-points."imgproxy_py.plugins"]
    sepia = "imgproxy_sepia:PLUGIN"

At start-up the composition root loads every installed plugin once (``IMGPROXY_PLUGINS`` can
name the ones to load, or be ``none``) and hands its parts to the registry, the pipeline, the
fetcher and the detector set.  A plugin that fails to load, or declares a name already taken,
stops start-up with the others' problems: a server never runs with half its URLs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgproxy_py.config import Config
    from imgproxy_py.detection.detector import Detector
    from imgproxy_py.imaging.steps import Step
    from imgproxy_py.options.registry import Option
    from imgproxy_py.sources.base import SourceBackend

log = logging.getLogger("imgproxy_py.plugins")

ENTRY_POINT_GROUP = "imgproxy_py.plugins"


@dataclass(frozen=True)
class PluginStep:
    """A step and the built-in step it runs after (its function's ``__name__``, e.g. ``"scale"``)."""

    after: str
    step: Step


@dataclass(frozen=True)
class Plugin:
    name: str
    options: tuple[Option, ...] = ()
    steps: tuple[PluginStep, ...] = ()
    # Built from the config root at start-up (a backend may need settings, a client).
    source_backends: tuple[Callable[[Config], SourceBackend], ...] = ()
    detectors: tuple[Callable[[Config], Detector], ...] = ()


@dataclass(frozen=True)
class Plugins:
    """Everything the loaded plugins add, flattened for the parts that use it."""

    loaded: tuple[Plugin, ...] = ()

    @property
    def options(self) -> tuple[Option, ...]:
        return tuple(option for plugin in self.loaded for option in plugin.options)

    @property
    def steps(self) -> tuple[PluginStep, ...]:
        return tuple(step for plugin in self.loaded for step in plugin.steps)

    def source_backends(self, config: Config) -> tuple[SourceBackend, ...]:
        return tuple(make(config) for plugin in self.loaded for make in plugin.source_backends)

    def detectors(self, config: Config) -> tuple[Detector, ...]:
        return tuple(make(config) for plugin in self.loaded for make in plugin.detectors)


def load_plugins(wanted: Sequence[str] | None, problems: list[str],
                 found: Sequence[EntryPoint] | None = None) -> Plugins:
    """The installed plugins (``wanted``: only these entry-point names; None: all)."""
    points = list(entry_points(group=ENTRY_POINT_GROUP) if found is None else found)
    names = {point.name for point in points}
    for missing in sorted(set(wanted or ()) - names):
        problems.append(f"IMGPROXY_PLUGINS: no installed plugin is called {missing!r}")
    loaded: list[Plugin] = []
    for point in sorted(points, key=lambda p: p.name):
        if wanted is not None and point.name not in wanted:
            continue
        try:
            obj = point.load()
            plugin = obj() if callable(obj) and not isinstance(obj, Plugin) else obj
        except Exception as exc:  # whatever a third party's import raises: reported with the rest
            problems.append(f"plugin {point.name!r} ({point.value}) failed to load: {exc}")
            continue
        if not isinstance(plugin, Plugin):
            problems.append(f"plugin {point.name!r} ({point.value}) is not an imgproxy_py.plugins.Plugin")
            continue
        log.info("plugin %s loaded from %s", plugin.name, point.value)
        loaded.append(plugin)
    return Plugins(tuple(loaded))


def insert_steps(steps: tuple[Step, ...], extra: Sequence[PluginStep], problems: list[str]) -> tuple[Step, ...]:
    """``steps`` with each plugin step right after the built-in step it names."""
    out = list(steps)
    for item in extra:
        names = [step.__name__ for step in out]
        if item.after not in names:
            problems.append(f"plugin step {item.step.__name__!r}: no step called {item.after!r} to follow")
            continue
        out.insert(names.index(item.after) + 1, item.step)
    return tuple(out)
