"""``/info``'s own settings: its presets, presets-only mode and allowed options (imgproxy Pro's names)."""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader

CACHE_TAGS_FORMATS = ("all", "cloudfront", "cloudflare", "none")


@dataclass(frozen=True)
class InfoConfig:
    presets_inline: str = ""  # IMGPROXY_INFO_PRESETS (separated by IMGPROXY_PRESETS_SEPARATOR)
    presets_path: str = ""  # IMGPROXY_INFO_PRESETS_PATH
    only_presets: bool = False  # IMGPROXY_INFO_ONLY_PRESETS (default: IMGPROXY_ONLY_PRESETS)
    allowed_options: frozenset[str] = frozenset()  # IMGPROXY_ALLOWED_INFO_OPTIONS; empty: all
    # IMGPROXY_ALLOW_SECURITY_OPTIONS: whether max_src_resolution / max_src_file_size may be in a URL.
    allow_security_options: bool = False
    allow_bypass_cache: bool = False  # IMGPROXY_ALLOW_BYPASS_CACHE: whether bypass_cache may be in a URL
    cache_tags_format: str = "all"  # IMGPROXY_CACHE_TAGS_FORMAT: all, cloudfront, cloudflare or none

    @staticmethod
    def from_env(r: EnvReader) -> InfoConfig:
        return InfoConfig(
            presets_inline=r.string("IMGPROXY_INFO_PRESETS"),
            presets_path=r.string("IMGPROXY_INFO_PRESETS_PATH"),
            only_presets=r.boolean("IMGPROXY_INFO_ONLY_PRESETS", r.boolean("IMGPROXY_ONLY_PRESETS", False)),
            allowed_options=frozenset(r.string_list("IMGPROXY_ALLOWED_INFO_OPTIONS")),
            allow_security_options=r.boolean("IMGPROXY_ALLOW_SECURITY_OPTIONS", False),
            allow_bypass_cache=r.boolean("IMGPROXY_ALLOW_BYPASS_CACHE", False),
            cache_tags_format=_cache_tags_format(r),
        )


def _cache_tags_format(r: EnvReader) -> str:
    value = r.string("IMGPROXY_CACHE_TAGS_FORMAT", "all").lower()
    if value not in CACHE_TAGS_FORMATS:
        r.errors.append(f"IMGPROXY_CACHE_TAGS_FORMAT: {value!r} is not one of {', '.join(CACHE_TAGS_FORMATS)}")
        return "all"
    return value
