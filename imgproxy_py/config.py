"""Configuration from ``IMGPROXY_*`` environment variables (imgproxy's names and defaults).

Each subsystem has a frozen dataclass built by its own ``from_env``; :func:`load_config`
builds them all and raises one :class:`ConfigError` listing every problem at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from imgproxy_py import __version__
from imgproxy_py.cluster.config import CacheConfig, read_processes, usable_cpus
from imgproxy_py.detection.classify import ClassificationConfig
from imgproxy_py.detection.config import DetectionConfig
from imgproxy_py.env_sources import ENV_SOURCE_SETTINGS, load_env_sources
from imgproxy_py.envreader import EnvReader, TrackedEnv
from imgproxy_py.errors import ConfigError
from imgproxy_py.formats import ImageFormat, format_by_name
from imgproxy_py.formats_config import FormatsConfig
from imgproxy_py.imaging.codecs.settings import EncoderSettings
from imgproxy_py.imaging.smart_crop import SmartCropMode, read_smart_crop_mode
from imgproxy_py.imaging.unsharp_config import UnsharpMaskingConfig
from imgproxy_py.imaging.vips_config import LibvipsConfig
from imgproxy_py.media.config import MediaConfig
from imgproxy_py.media.raw import RawConfig
from imgproxy_py.media.video_config import VideoConfig
from imgproxy_py.metrics_config import MetricsConfig
from imgproxy_py.optimize.config import OptimizeConfig
from imgproxy_py.options.info.config import InfoConfig
from imgproxy_py.security.config import SecurityConfig
from imgproxy_py.server.error_reporting import ErrorReportingConfig
from imgproxy_py.server.http_config import HttpConfig
from imgproxy_py.server.listen import ListenAddress, parse_listen_address
from imgproxy_py.server.syslog_config import LOG_FORMATS, LOG_LEVELS, SyslogConfig
from imgproxy_py.settings_check import deprecated_settings
from imgproxy_py.sources.config import FetchConfig
from imgproxy_py.sources.stores import StoresConfig
from imgproxy_py.sources.url_images import FallbackImagesConfig, WatermarksConfig
from imgproxy_py.telemetry_config import TelemetryConfig
from imgproxy_py.url.tokenizer import URLGrammar
from imgproxy_py.wildcards import url_replacements

VERSION = __version__
T = TypeVar("T")


@dataclass(frozen=True)
class ServerConfig:
    listen: ListenAddress = field(default_factory=ListenAddress)
    workers: int = 4  # concurrent image jobs (IMGPROXY_WORKERS)
    requests_queue_size: int = 0  # 0: unlimited
    max_clients: int = 2048
    timeout: float = 10.0
    ttl: int = 31536000
    path_prefix: str = ""
    secret: str = ""
    allow_origin: str = ""
    enable_client_hints: bool = False
    set_canonical_header: bool = False
    cache_control_passthrough: bool = False
    graceful_stop_timeout: float = 20.0
    log_format: str = ""  # "": imgproxy's default, pretty on a terminal, else structured
    log_level: str = "info"  # Python's name: debug, info, warning, error
    landing_page: bool = True
    free_memory_interval: float = 10.0  # seconds between giving freed memory back to the system
    log_mem_stats: bool = False  # and logging the memory figures then (debug level)

    @staticmethod
    def from_env(r: EnvReader) -> ServerConfig:
        listen, problems = parse_listen_address(r.string("IMGPROXY_NETWORK", "tcp"),
                                                r.string("IMGPROXY_BIND", ":8080"))
        r.errors.extend(problems)
        workers_default = usable_cpus() * 2  # imgproxy's: two per CPU
        return ServerConfig(
            listen=listen,
            workers=r.integer("IMGPROXY_WORKERS", r.integer("IMGPROXY_CONCURRENCY", workers_default,
                                                             minimum=1), minimum=1),
            requests_queue_size=r.integer("IMGPROXY_REQUESTS_QUEUE_SIZE", 0, minimum=0),
            max_clients=r.integer("IMGPROXY_MAX_CLIENTS", 2048, minimum=0),
            timeout=r.number("IMGPROXY_TIMEOUT", r.number("IMGPROXY_WRITE_TIMEOUT", 10.0, minimum=0.001),
                             minimum=0.001),
            ttl=r.integer("IMGPROXY_TTL", 31536000, minimum=0),
            path_prefix=r.string("IMGPROXY_PATH_PREFIX").rstrip("/"),
            secret=r.string("IMGPROXY_SECRET"),
            allow_origin=r.string("IMGPROXY_ALLOW_ORIGIN"),
            enable_client_hints=r.boolean("IMGPROXY_ENABLE_CLIENT_HINTS", False),
            set_canonical_header=r.boolean("IMGPROXY_SET_CANONICAL_HEADER", False),
            cache_control_passthrough=r.boolean("IMGPROXY_CACHE_CONTROL_PASSTHROUGH", False),
            graceful_stop_timeout=r.number("IMGPROXY_GRACEFUL_STOP_TIMEOUT", 20.0, minimum=0),
            log_format=r.choice("IMGPROXY_LOG_FORMAT", "", LOG_FORMATS) if r.has("IMGPROXY_LOG_FORMAT") else "",
            log_level=LOG_LEVELS[r.choice("IMGPROXY_LOG_LEVEL", "info", LOG_LEVELS)],
            landing_page=r.boolean("IMGPROXY_LANDING_PAGE", True),
            free_memory_interval=r.number("IMGPROXY_FREE_MEMORY_INTERVAL", 10.0, minimum=0.01),
            log_mem_stats=r.boolean("IMGPROXY_LOG_MEM_STATS", False),
        )

    def per_process(self, processes: int) -> ServerConfig:
        """imgproxy's server-wide limits (``IMGPROXY_WORKERS``, ``_REQUESTS_QUEUE_SIZE``,
        ``_MAX_CLIENTS``) shared out over ``IMGPROXY_PROCESSES``: each process gets its part,
        rounded up, so the host as a whole keeps the limits an imgproxy admin set (0: none)."""
        def part(total: int) -> int:
            return -(-total // processes) if total else 0

        return replace(self, workers=part(self.workers), requests_queue_size=part(self.requests_queue_size),
                       max_clients=part(self.max_clients))


def _format_list(r: EnvReader, name: str, default: tuple[ImageFormat, ...]) -> tuple[ImageFormat, ...]:
    out: list[ImageFormat] = []
    for item in r.string_list(name):
        fmt = format_by_name(item)
        if fmt is None:
            r.errors.append(f"{name}: unknown format {item!r}")
        else:
            out.append(fmt)
    return tuple(out) or default


def _format_int_map(r: EnvReader, name: str, default: dict[ImageFormat, int]) -> dict[ImageFormat, int]:
    out = dict(default)
    for item in r.string_list(name):
        fmt_name, eq, value = item.partition("=")
        fmt = format_by_name(fmt_name.strip())
        if not eq or fmt is None or not value.strip().isdigit() or not 1 <= int(value) <= 100:
            r.errors.append(f"{name}: {item!r} is not format=quality")
            continue
        out[fmt] = int(value)
    return out


@dataclass(frozen=True)
class ProcessingConfig:
    quality: int = 80
    format_quality: dict[ImageFormat, int] = field(default_factory=dict)
    auto_webp: bool = False
    enforce_webp: bool = False
    auto_avif: bool = False
    enforce_avif: bool = False
    preferred_formats: tuple[ImageFormat, ...] = (ImageFormat.JPEG, ImageFormat.PNG, ImageFormat.GIF)
    skip_processing_formats: tuple[ImageFormat, ...] = ()
    strip_metadata: bool = True
    keep_copyright: bool = True
    strip_color_profile: bool = True
    auto_rotate: bool = True
    enforce_thumbnail: bool = False
    return_attachment: bool = False  # the `att` option's default
    smart_crop_face_detection: bool = False  # g:sm looks for faces first (imgproxy Pro)
    smart_crop_advanced: SmartCropMode | None = None  # g:sm by a feature map, not libvips' attention (Pro)
    use_linear_colorspace: bool = False
    disable_shrink_on_load: bool = False
    sanitize_svg: bool = True
    max_svg_check_bytes: int = 32 * 1024  # how far into a file <svg> is looked for
    always_rasterize_svg: bool = False
    watermark_data: str = ""
    watermark_path: str = ""
    watermark_url: str = ""
    watermark_opacity: float = 1.0

    @staticmethod
    def from_env(r: EnvReader) -> ProcessingConfig:
        return ProcessingConfig(
            quality=r.integer("IMGPROXY_QUALITY", 80, minimum=1, maximum=100),
            format_quality=_format_int_map(r, "IMGPROXY_FORMAT_QUALITY", {
                ImageFormat.WEBP: 79, ImageFormat.AVIF: 63, ImageFormat.JXL: 77}),
            auto_webp=r.boolean("IMGPROXY_AUTO_WEBP", r.boolean("IMGPROXY_ENABLE_WEBP_DETECTION", False)),
            enforce_webp=r.boolean("IMGPROXY_ENFORCE_WEBP", False),
            auto_avif=r.boolean("IMGPROXY_AUTO_AVIF", r.boolean("IMGPROXY_ENABLE_AVIF_DETECTION", False)),
            enforce_avif=r.boolean("IMGPROXY_ENFORCE_AVIF", False),
            preferred_formats=_format_list(r, "IMGPROXY_PREFERRED_FORMATS",
                                           (ImageFormat.JPEG, ImageFormat.PNG, ImageFormat.GIF)),
            skip_processing_formats=_format_list(r, "IMGPROXY_SKIP_PROCESSING_FORMATS", ()),
            strip_metadata=r.boolean("IMGPROXY_STRIP_METADATA", True),
            keep_copyright=r.boolean("IMGPROXY_KEEP_COPYRIGHT", True),
            strip_color_profile=r.boolean("IMGPROXY_STRIP_COLOR_PROFILE", True),
            auto_rotate=r.boolean("IMGPROXY_AUTO_ROTATE", True),
            enforce_thumbnail=r.boolean("IMGPROXY_ENFORCE_THUMBNAIL", False),
            return_attachment=r.boolean("IMGPROXY_RETURN_ATTACHMENT", False),
            smart_crop_face_detection=r.boolean("IMGPROXY_SMART_CROP_FACE_DETECTION", False),
            smart_crop_advanced=read_smart_crop_mode(r),
            use_linear_colorspace=r.boolean("IMGPROXY_USE_LINEAR_COLORSPACE", False),
            disable_shrink_on_load=r.boolean("IMGPROXY_DISABLE_SHRINK_ON_LOAD", False),
            sanitize_svg=r.boolean("IMGPROXY_SANITIZE_SVG", True),
            max_svg_check_bytes=r.integer("IMGPROXY_MAX_SVG_CHECK_BYTES", 32 * 1024, minimum=1),
            always_rasterize_svg=r.boolean("IMGPROXY_ALWAYS_RASTERIZE_SVG", False),
            watermark_data=r.string("IMGPROXY_WATERMARK_DATA"),
            watermark_path=r.string("IMGPROXY_WATERMARK_PATH"),
            watermark_url=r.string("IMGPROXY_WATERMARK_URL"),
            watermark_opacity=r.number("IMGPROXY_WATERMARK_OPACITY", 1.0, minimum=0, maximum=1),
        )


@dataclass(frozen=True)
class DeliveryConfig:
    """Caching, conditional requests and fallback images."""

    use_etag: bool = True
    etag_buster: str = ""
    use_last_modified: bool = True
    last_modified_buster: float | None = None  # Unix time: no Last-Modified before it
    source_cache_bytes: int = 0
    result_cache_bytes: int = 0
    fallback_image_data: str = ""
    fallback_image_path: str = ""
    fallback_image_url: str = ""
    fallback_image_http_code: int = 200
    fallback_image_ttl: int = 0  # 0: IMGPROXY_TTL
    # Which headers carry the cache_tags option: all, cloudflare (Cache-Tag), cloudfront
    # (x-amz-meta-cache-tag) or none.
    cache_tags_format: str = "all"

    @staticmethod
    def from_env(r: EnvReader) -> DeliveryConfig:
        return DeliveryConfig(
            # imgproxy 4 turns both on by default (its code and changelog; version 3 had them off).
            use_etag=r.boolean("IMGPROXY_USE_ETAG", True),
            etag_buster=r.string("IMGPROXY_ETAG_BUSTER"),
            use_last_modified=r.boolean("IMGPROXY_USE_LAST_MODIFIED", True),
            last_modified_buster=r.parsed("IMGPROXY_LAST_MODIFIED_BUSTER", None, _rfc3339),
            source_cache_bytes=r.integer("IMGPROXY_SOURCE_CACHE_SIZE_MB", 0, minimum=0) * 1024 * 1024,
            result_cache_bytes=r.integer("IMGPROXY_RESULT_CACHE_SIZE_MB", 0, minimum=0) * 1024 * 1024,
            fallback_image_data=r.string("IMGPROXY_FALLBACK_IMAGE_DATA"),
            fallback_image_path=r.string("IMGPROXY_FALLBACK_IMAGE_PATH"),
            fallback_image_url=r.string("IMGPROXY_FALLBACK_IMAGE_URL"),
            fallback_image_http_code=r.integer("IMGPROXY_FALLBACK_IMAGE_HTTP_CODE", 200, minimum=0, maximum=599),
            fallback_image_ttl=r.integer("IMGPROXY_FALLBACK_IMAGE_TTL", 0, minimum=0),
            cache_tags_format=r.parsed("IMGPROXY_CACHE_TAGS_FORMAT", "all", _cache_tags_format),
        )


def _rfc3339(text: str) -> float | None:
    """An RFC 3339 date and time (``2025-01-31T12:00:00Z``) as Unix time."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 date and time (2025-01-31T12:00:00Z)") from None
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (Z or +hh:mm)")
    return when.timestamp()


CACHE_TAGS_FORMATS = ("all", "cloudflare", "cloudfront", "none")


def _cache_tags_format(text: str) -> str:
    if text not in CACHE_TAGS_FORMATS:
        raise ValueError(f"{text!r} is not one of {', '.join(CACHE_TAGS_FORMATS)}")
    return text


def _url_grammar(r: EnvReader) -> URLGrammar:
    separator = r.string("IMGPROXY_ARGUMENTS_SEPARATOR", ":")
    if not separator or "/" in separator:
        r.errors.append("IMGPROXY_ARGUMENTS_SEPARATOR must be non-empty and not contain '/'")
        separator = ":"
    return URLGrammar(
        arguments_separator=separator,
        base64_url_includes_filename=r.boolean("IMGPROXY_BASE64_URL_INCLUDES_FILENAME", False),
        only_presets=r.boolean("IMGPROXY_ONLY_PRESETS", False),
        base_url=r.string("IMGPROXY_BASE_URL"),
        url_replacements=url_replacements(r),
    )


def _plugins(r: EnvReader) -> tuple[str, ...] | None:
    if not r.has("IMGPROXY_PLUGINS"):
        return None
    names = r.string_list("IMGPROXY_PLUGINS")
    return () if names == ("none",) else names


@dataclass(frozen=True)
class PresetsConfig:
    """Where presets come from; the presets themselves are parsed by the options parser."""

    inline: str = ""  # IMGPROXY_PRESETS
    separator: str = ","
    path: str = ""
    bundled: bool = True  # the shipped presets under the admin's
    max_chained_pipelines: int = 0  # 0: unlimited

    @staticmethod
    def from_env(r: EnvReader) -> PresetsConfig:
        return PresetsConfig(
            inline=r.string("IMGPROXY_PRESETS"),
            separator=r.string("IMGPROXY_PRESETS_SEPARATOR", ",") or ",",
            path=r.string("IMGPROXY_PRESETS_PATH"),
            bundled=r.boolean("IMGPROXY_BUNDLED_PRESETS", True),
            max_chained_pipelines=r.integer("IMGPROXY_MAX_CHAINED_PIPELINES", 0, minimum=0),
        )


@dataclass(frozen=True)
class Config:
    """The configuration root: every subsystem's settings, read once at start-up.

    Nothing reads the environment after :func:`read_config`; subsystems get their part of this.
    """

    server: ServerConfig
    security: SecurityConfig
    fetch: FetchConfig
    processing: ProcessingConfig
    url: URLGrammar
    stores: StoresConfig = field(default_factory=StoresConfig)  # s3://, gs://, abs://, swift://
    http: HttpConfig = field(default_factory=HttpConfig)  # health-check path, Server header, custom headers, keep-alive
    syslog: SyslogConfig = field(default_factory=SyslogConfig)  # IMGPROXY_SYSLOG_*
    error_reporting: ErrorReportingConfig = field(default_factory=ErrorReportingConfig)  # Sentry
    delivery: DeliveryConfig = DeliveryConfig()
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    presets: PresetsConfig = PresetsConfig()
    optimize: OptimizeConfig = field(default_factory=lambda: OptimizeConfig.from_env({})[0])
    # The savers' settings (IMGPROXY_JPEG_*, IMGPROXY_WEBP_*, IMGPROXY_AVIF_*, colour profiles).
    encoding: EncoderSettings = field(default_factory=EncoderSettings)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    raw: RawConfig = field(default_factory=RawConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    # imgproxy Pro's internal cache (IMGPROXY_CACHE_*) and our Redis tier.
    cache: CacheConfig = field(default_factory=CacheConfig)
    # IMGPROXY_PROCESSES (ours): server processes sharing the port.
    processes: int = 1
    info: InfoConfig = field(default_factory=InfoConfig)  # /info's presets, presets-only mode and allowed options
    classification: ClassificationConfig = field(default_factory=ClassificationConfig)  # /info's classify
    watermarks: WatermarksConfig = field(default_factory=WatermarksConfig)
    fallback_images: FallbackImagesConfig = field(default_factory=FallbackImagesConfig)  # fallback_image_url
    unsharp_masking: UnsharpMaskingConfig = field(default_factory=UnsharpMaskingConfig)
    formats: FormatsConfig = field(default_factory=FormatsConfig)
    vips: LibvipsConfig = field(default_factory=LibvipsConfig)
    # IMGPROXY_PLUGINS: the installed plugins to load by entry-point name; None: all, (): none.
    plugins: tuple[str, ...] | None = None
    # The IMGPROXY_* names the environment held and those start-up looked up: what was set
    # but never read is named at start-up (settings_check).
    settings_given: frozenset[str] = frozenset()
    settings_read: frozenset[str] = frozenset()


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Read every subsystem's settings; raise one ConfigError listing all problems."""
    config, problems = read_config(env)
    if problems:
        raise ConfigError(problems)
    return config


def read_config(env: Mapping[str, str] | None = None) -> tuple[Config, list[str]]:
    """The config with defaults in place of bad values, and the list of problems."""
    merged, problems = load_env_sources(os.environ if env is None else env)
    tracked = TrackedEnv(merged)
    tracked.read.update(ENV_SOURCE_SETTINGS)
    r = EnvReader(tracked)

    def own(sub: tuple[T, list[str]]) -> T:  # subsystems that collect their own problems
        problems.extend(sub[1])
        return sub[0]

    config = Config(
        server=ServerConfig.from_env(r),
        security=SecurityConfig.from_env(r),
        fetch=FetchConfig.from_env(r),
        processing=ProcessingConfig.from_env(r),
        url=_url_grammar(r),
        stores=StoresConfig.from_env(r),
        http=HttpConfig.from_env(r),
        syslog=SyslogConfig.from_env(r),
        error_reporting=ErrorReportingConfig.from_env(r),
        delivery=DeliveryConfig.from_env(r),
        metrics=MetricsConfig.from_env(r),
        telemetry=TelemetryConfig.from_env(r),
        presets=PresetsConfig.from_env(r),
        optimize=own(OptimizeConfig.from_env(tracked)),
        encoding=EncoderSettings.from_env(r),
        detection=own(DetectionConfig.from_env(tracked)),
        video=own(VideoConfig.from_env(tracked)),
        raw=own(RawConfig.from_env(tracked)),
        media=MediaConfig.from_env(r),
        info=InfoConfig.from_env(r),
        classification=ClassificationConfig.from_env(r),
        watermarks=WatermarksConfig.from_env(r),
        fallback_images=FallbackImagesConfig.from_env(r),
        unsharp_masking=UnsharpMaskingConfig.from_env(r),
        formats=FormatsConfig.from_env(r),
        vips=LibvipsConfig.from_env(r),
        plugins=_plugins(r),
        cache=CacheConfig.from_env(r),
        processes=read_processes(r),
    )
    given = frozenset(n for n in tracked if n.startswith("IMGPROXY_"))
    if r.boolean("IMGPROXY_FAIL_ON_DEPRECATION", False):
        problems.extend(deprecated_settings(given))
    config = replace(config, server=config.server.per_process(config.processes), settings_given=given,
                     settings_read=frozenset(tracked.read))
    # Once each: a setting two subsystems read (IMGPROXY_MODELS_DIR) gives them the same problem.
    return config, list(dict.fromkeys(r.errors + problems))
