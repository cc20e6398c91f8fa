"""An immutable chain of ``name:arg`` segments with chained pipelines, and the options that
processing and ``/info`` URLs share."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Self

from imgproxy_py.url.arguments import NAME_RE, ArgValue, fmt_any, fmt_bool, fmt_str, int_arg, non_negative, trim_args


@dataclass(frozen=True)
class Option:
    """One ``name:arg:...`` segment: its short and long name and its formatted arguments."""

    short: str
    long: str
    args: tuple[str, ...]

    def render(self, full_names: bool = False) -> str:
        return ":".join(((self.long if full_names else self.short), *self.args))


@dataclass(frozen=True)
class OptionChain:
    pipelines: tuple[tuple[Option, ...], ...] = field(default=((),))

    def _push(self, short: str, long: str, *args: str) -> Self:
        option = Option(short, long, trim_args(args))
        return type(self)((*self.pipelines[:-1], (*self.pipelines[-1], option)))

    def add(self, name: str, *args: ArgValue) -> Self:
        """Any option by name, for those without a method (or a server's own options).

        Arguments are formatted like the typed methods do: ``True`` -> ``1``, ``None`` -> empty.

        >>> str(OptionChain().add("sa", 1.5).add("hs", "md5", "abc"))
        'sa:1.5/hs:md5:abc'
        """
        if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name == "-":
            raise ValueError(f"invalid option name {name!r}")
        return self._push(name, name, *(fmt_any(a, f"{name} argument") for a in args))

    def segments(self, *, full_names: bool = False) -> list[str]:
        """The path segments, with ``-`` between chained pipelines (empty pipelines skipped)."""
        out: list[str] = []
        for pipeline in self.pipelines:
            if not pipeline:
                continue
            if out:
                out.append("-")
            out.extend(option.render(full_names) for option in pipeline)
        return out

    def to_path(self, *, full_names: bool = False) -> str:
        """``/seg/seg...`` (empty string when there are no options)."""
        return "".join("/" + s for s in self.segments(full_names=full_names))

    def __str__(self) -> str:
        return "/".join(self.segments())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __bool__(self) -> bool:
        return any(self.pipelines)

    # Options that processing and info URLs share.
    def cachebuster(self, value: str) -> Self:
        """``cb:%string``: changes the URL (and so every cache key) without changing the result."""
        return self._push("cb", "cachebuster", fmt_str(value, "cachebuster"))

    def expires(self, when: int | _dt.datetime) -> Self:
        """``exp:%timestamp``: the URL stops working after this Unix time (or aware datetime)."""
        if isinstance(when, _dt.datetime):
            if when.tzinfo is None:
                raise ValueError("expires needs a timezone-aware datetime")
            when = int(when.timestamp())
        return self._push("exp", "expires", int_arg(when, "expires", minimum=None))

    def preset(self, *names: str) -> Self:
        """``pr:%name...``: apply server-side presets."""
        if not names:
            raise ValueError("preset needs at least one name")
        return self._push("pr", "preset", *(fmt_str(n, "preset name") for n in names))

    def page(self, page: int) -> Self:
        """``pg:%page``: the page (PDF, TIFF) or frame (GIF, WebP) to use, from 0."""
        return self._push("pg", "page", int_arg(page, "page"))

    def video_thumbnail_second(self, second: float) -> Self:
        """``vts:%second``: the video timestamp to take the thumbnail from."""
        return self._push("vts", "video_thumbnail_second", non_negative(second, "video thumbnail second"))

    def video_thumbnail_keyframes(self, enabled: bool = True) -> Self:
        """``vtk:%bool``: use only keyframes for video thumbnails."""
        return self._push("vtk", "video_thumbnail_keyframes", fmt_bool(enabled))
