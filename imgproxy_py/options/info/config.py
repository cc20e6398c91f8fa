"""``/info``'s own settings: its presets, presets-only mode and allowed options (imgproxy Pro's names).

``IMGPROXY_ALLOW_SECURITY_OPTIONS``, ``IMGPROXY_ALLOW_BYPASS_CACHE`` and ``IMGPROXY_CACHE_TAGS_FORMAT``
are shared with image URLs (``SecurityConfig``, ``DeliveryConfig``).
"""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader


@dataclass(frozen=True)
class InfoConfig:
    presets_inline: str = ""  # IMGPROXY_INFO_PRESETS (separated by IMGPROXY_PRESETS_SEPARATOR)
    presets_path: str = ""  # IMGPROXY_INFO_PRESETS_PATH
    only_presets: bool = False  # IMGPROXY_INFO_ONLY_PRESETS (default: IMGPROXY_ONLY_PRESETS)
    allowed_options: frozenset[str] = frozenset()  # IMGPROXY_ALLOWED_INFO_OPTIONS; empty: all

    @staticmethod
    def from_env(r: EnvReader) -> InfoConfig:
        return InfoConfig(
            presets_inline=r.string("IMGPROXY_INFO_PRESETS"),
            presets_path=r.string("IMGPROXY_INFO_PRESETS_PATH"),
            only_presets=r.boolean("IMGPROXY_INFO_ONLY_PRESETS", r.boolean("IMGPROXY_ONLY_PRESETS", False)),
            allowed_options=frozenset(r.string_list("IMGPROXY_ALLOWED_INFO_OPTIONS")),
        )
