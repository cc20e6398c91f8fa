"""The composition root: every part a request needs, built once from the config at start-up,
started and stopped with the server (:func:`lifespan`).

Parts get their dependencies as typed constructor arguments from here; nothing else builds them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import pyvips

from imgproxy_py.cache import BytesCache, SingleFlight
from imgproxy_py.cloudwatch import CloudWatch
from imgproxy_py.cluster.internal import InternalCache, build_internal_cache, shared_detections
from imgproxy_py.config import VERSION, Config
from imgproxy_py.datadog_apm import DatadogTracing
from imgproxy_py.detection import DetectorSet
from imgproxy_py.detection.classify import Classifier
from imgproxy_py.detection.expressions import expressions_for_best_frames
from imgproxy_py.detection.sessions import MlSlots
from imgproxy_py.errors import ConfigError
from imgproxy_py.imaging.codecs import vector_render
from imgproxy_py.imaging.codecs.encoding import QualityControlledEncoder
from imgproxy_py.imaging.codecs.load import Limits
from imgproxy_py.imaging.context import ProcessingSettings, result_resolution_limit
from imgproxy_py.imaging.dependencies import PipelineDeps, WatermarkSource
from imgproxy_py.imaging.objects import ObjectDetection
from imgproxy_py.imaging.pipeline import Processor, ProcessResult
from imgproxy_py.imaging.sources import SpecialSources, source_recogniser
from imgproxy_py.imaging.steps import MAIN_STEPS, Step
from imgproxy_py.imaging.vips_config import configure_libvips
from imgproxy_py.media.raw import MISSING_RAW, RawDecoder, raw_available
from imgproxy_py.media.routes import MediaRoutes, load_media_routes
from imgproxy_py.metrics import Metrics
from imgproxy_py.metrics_processes import PrometheusSlot
from imgproxy_py.new_relic import NewRelicTracing
from imgproxy_py.options.catalog import PROCESSING_OPTIONS
from imgproxy_py.options.catalog import registry as processing_registry
from imgproxy_py.options.model import GravityType
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.options.registry import Option, OptionRegistry, build_registry
from imgproxy_py.plugins import Plugins, insert_steps, load_plugins
from imgproxy_py.server.error_reporting import ErrorReporter
from imgproxy_py.server.memory_ticker import limit_malloc_arenas, memory_ticker
from imgproxy_py.server.workers import WorkerPool
from imgproxy_py.sources import SourceFetcher
from imgproxy_py.sources.store import SourceStore
from imgproxy_py.sources.url_images import URLImages
from imgproxy_py.telemetry import Telemetry
from imgproxy_py.vips_memory import vips_memory

log = logging.getLogger("imgproxy_py")
T = TypeVar("T")


@dataclass
class Services:
    config: Config
    options: OptionsParser
    fetcher: SourceFetcher
    sources: SourceStore
    processor: Processor
    workers: WorkerPool
    results: BytesCache[str, ProcessResult]
    result_flights: SingleFlight[str, ProcessResult] = field(default_factory=SingleFlight)
    metrics: Metrics | None = None
    fallback_image: bytes | None = None
    media: MediaRoutes | None = None
    special_sources: SpecialSources | None = None
    internal_cache: InternalCache | None = None
    classifier: Classifier | None = None  # /info's classify (IMGPROXY_CLASSIFICATION_NET), opened on first use
    watermarks: URLImages | None = None  # watermark_url images (build_services sets it)
    fallback_images: URLImages | None = None  # fallback_image_url images (build_services sets it)
    error_reporter: ErrorReporter | None = None  # Sentry, when IMGPROXY_SENTRY_DSN is set
    images_processed: int = 0  # counts real processing runs; a 304 or cache hit adds nothing
    _memory_ticker: asyncio.Task[None] | None = None

    def gauges(self) -> dict[str, float]:
        metrics = self.metrics
        return {
            "workers": float(self.workers.workers),
            "requests_in_progress": float(metrics.requests_in_progress if metrics else 0),
            "images_in_progress": float(self.workers.running),
            "workers_utilization": self.workers.utilization * 100.0,
            "source_cache_hit_rate": self.sources.cache.stats.hit_rate,
            "result_cache_hit_rate": self.results.stats.hit_rate,
            **vips_memory(),
        }

    async def start(self) -> None:
        if self.metrics is not None:
            await self.metrics.start()
        server = self.config.server
        self._memory_ticker = asyncio.create_task(memory_ticker(server.free_memory_interval, server.log_mem_stats))

    async def close(self) -> None:
        if self._memory_ticker is not None:
            self._memory_ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._memory_ticker
        if self.metrics is not None:
            await self.metrics.stop()
        await self.fetcher.close()
        if self.internal_cache is not None:
            await self.internal_cache.close()
        self.workers.shutdown()
        special = self.special_sources
        if special is not None and special.raw is not None:
            special.raw.close()
        if self.error_reporter is not None:
            self.error_reporter.close()


def build_services(config: Config, prometheus_slot: PrometheusSlot | None = None) -> Services:
    """Build every subsystem; raise one ConfigError listing all problems.  ``prometheus_slot``:
    this process's place when several share one Prometheus endpoint."""
    limit_malloc_arenas()
    configure_libvips(config.vips)
    vector_render.configure(max_idle=config.server.workers)  # as many SVG/PDF renders as image jobs at once
    problems: list[str] = []
    plugins = load_plugins(config.plugins, problems)
    options = OptionsParser(config, registry=_registry(plugins, problems), errors=problems)
    detection_config = config.detection
    ml_slots = MlSlots(detection_config.max_ml_concurrency)  # shared by every model below
    detectors = DetectorSet(detection_config, extra=plugins.detectors(config), slots=ml_slots)
    problems += detectors.errors
    video_config, raw_config = config.video, config.raw
    raw_decoder = RawDecoder(raw_config) if raw_config.enabled and raw_available() else None
    raw_missing = MISSING_RAW if raw_config.enabled and raw_decoder is None else ""
    if raw_missing:
        log.warning("camera RAW is off: %s", raw_missing)
    special_sources = SpecialSources(
        video_config, raw_decoder, detectors.detect if detectors.enabled else None,
        raw_unavailable=raw_missing, detection_unavailable=detection_config.unavailable,
        expressions=expressions_for_best_frames(video_config, detection_config, "face" in detectors.class_names,
                                                ml_slots))
    media = load_media_routes(config.media, config.fetch.local_filesystem_root,
                              config.security.signing_enabled, problems)
    objects = ObjectDetection(detectors) if detectors.enabled else None
    if objects is not None and config.cache.redis_url:
        objects.shared = shared_detections(config.cache.redis_url)
    processor = _build_processor(config, PipelineDeps(
        objects=objects,
        object_fallback=GravityType.SMART if detection_config.fallback_to_smart_crop else GravityType.CENTER,
        special_sources=special_sources,
        watermark=_watermark(config, problems),
    ), insert_steps(MAIN_STEPS, plugins.steps, problems))
    fallback = _static_fallback(config, problems)
    internal_cache = build_internal_cache(config.cache, config.fetch, problems)
    if problems:
        raise ConfigError(problems)
    fetcher = SourceFetcher(config.fetch, config.security, backends=plugins.source_backends(config),
                            stores=config.stores, recognise=source_recogniser(config.processing.max_svg_check_bytes))
    workers = WorkerPool(config.server.workers, config.server.requests_queue_size)
    results: BytesCache[str, ProcessResult] = BytesCache(config.delivery.result_cache_bytes,
                                                          lambda r: len(r.data) + 256)
    services = Services(config, options, fetcher, SourceStore(fetcher, config.delivery.source_cache_bytes),
                        processor, workers, results, fallback_image=fallback)
    services.media = media
    services.internal_cache = internal_cache
    services.special_sources = special_sources
    services.classifier = Classifier(config.classification, ml_slots) if config.classification.enabled else None
    services.watermarks = URLImages(config.watermarks, fetcher, config.url)
    services.fallback_images = URLImages(config.fallback_images, fetcher, config.url)
    # Each of these imports its service's SDK, from an optional extra.
    services.error_reporter = _with_extra("error reporting", config.error_reporting.enabled,
                                          lambda: ErrorReporter(config.error_reporting), "reporters", problems)
    telemetry = _with_extra("IMGPROXY_OPEN_TELEMETRY_ENABLE", config.telemetry.enabled,
                            lambda: Telemetry(config.telemetry, services.gauges), "otel", problems)
    cloud_watch = _with_extra("IMGPROXY_CLOUD_WATCH_SERVICE_NAME", config.metrics.cloud_watch_service_name,
                              lambda: CloudWatch(config.metrics), "cloud", problems)
    new_relic = _with_extra("IMGPROXY_NEW_RELIC_KEY", config.metrics.new_relic_key,
                            lambda: NewRelicTracing(config.metrics), "newrelic", problems)
    if problems:
        raise ConfigError(problems)
    datadog_apm = _datadog_apm(config)
    if config.metrics.prometheus_bind or config.metrics.datadog_enable or telemetry or cloud_watch or new_relic:
        services.metrics = Metrics(config.metrics, services.gauges, telemetry, cloud_watch, datadog_apm, new_relic,
                                   prometheus_slot)
        workers.on_span = services.metrics.span
        if internal_cache is not None:
            internal_cache.on_lookup = services.metrics.cache_lookup
    injectors = [tracer.inject for tracer, on in ((telemetry, config.telemetry.propagate_external),
                                                  (datadog_apm, config.metrics.datadog_propagate_external),
                                                  (new_relic, config.metrics.new_relic_propagate_external))
                 if tracer is not None and on]
    if injectors:  # IMGPROXY_*_PROPAGATE_EXTERNAL: the trace's headers on source downloads
        def trace_headers(headers: dict[str, str]) -> None:
            for inject in injectors:
                inject(headers)

        fetcher.http.trace_headers = trace_headers
    return services


def _datadog_apm(config: Config) -> DatadogTracing | None:
    """DataDog APM traces with IMGPROXY_DATADOG_ENABLE; without the ``datadog`` extra (ddtrace) a
    warning, not a reason not to start: the DogStatsD metrics need only the datadog package."""
    if not config.metrics.datadog_enable:
        return None
    try:
        return DatadogTracing(config.metrics)
    except ImportError:
        log.warning("IMGPROXY_DATADOG_ENABLE: APM traces need the datadog extra (pip install "
                    "'imgproxy-py[datadog]'); sending DogStatsD metrics only")
        return None


def _with_extra(setting: str, enabled: object, build: Callable[[], T], extra: str, problems: list[str]) -> T | None:
    """``build()`` when ``enabled``; a start-up problem naming ``setting`` and the extra to install
    when the optional package it imports is missing."""
    try:
        return build() if enabled else None
    except ImportError as exc:
        problems.append(f"{setting}: needs the {extra} extra (pip install 'imgproxy-py[{extra}]'): "
                        f"{exc.name or 'a package'} is not installed")
    except ConfigError as exc:  # a value only the service's SDK can judge
        problems.extend(exc.problems)
    return None


def _registry(plugins: Plugins, problems: list[str]) -> OptionRegistry[Option]:
    """The built-in processing options and the plugins' (a name taken twice stops start-up)."""
    if not plugins.options:
        return processing_registry
    try:
        return build_registry((*PROCESSING_OPTIONS, *plugins.options))
    except ValueError as exc:
        problems.append(f"plugins: {exc}")
        return processing_registry


def _build_processor(config: Config, deps: PipelineDeps, steps: tuple[Step, ...]) -> Processor:
    proc = config.processing
    sec = config.security
    encoder_settings = replace(config.encoding, jxl_effort=config.formats.jxl_effort)
    return Processor(
        settings=ProcessingSettings(
            use_linear_colorspace=proc.use_linear_colorspace,
            disable_shrink_on_load=proc.disable_shrink_on_load,
            max_result_dimension=sec.max_result_dimension,
            max_src_resolution=sec.max_src_resolution,
            watermark_opacity=proc.watermark_opacity,
            max_result_resolution=result_resolution_limit(sec.max_src_resolution),
            unsharp_masking=config.unsharp_masking,
            pdf_no_background=config.formats.pdf_no_background,
            smart_crop_face_detection=proc.smart_crop_face_detection,
            smart_crop_advanced=proc.smart_crop_advanced,
            unlimited_formats=config.vips.unlimited,
        ),
        encoder_settings=encoder_settings,
        limits=Limits(sec.max_src_resolution, sec.max_animation_frames, sec.max_animation_frame_resolution),
        quality=proc.quality,
        format_quality=MappingProxyType(dict(proc.format_quality)),
        preferred_formats=proc.preferred_formats,
        always_rasterize_svg=proc.always_rasterize_svg,
        sanitize_svg=proc.sanitize_svg,
        svg_check_bytes=proc.max_svg_check_bytes,
        best_format=config.formats.best,
        deps=deps,
        encoder=QualityControlledEncoder(config.optimize, encoder_settings),
        steps=steps,
    )


def _configured_image(data_var: str, base64_data: str, path_var: str, path: str,
                      problems: list[str]) -> bytes | None:
    """The bytes of an image configured as ``*_DATA`` (base64) or ``*_PATH``, if any."""
    if base64_data:
        try:
            return base64.b64decode(base64_data, validate=True)
        except ValueError:
            problems.append(f"{data_var}: not base64")
    elif path:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            problems.append(f"{path_var}: {exc.strerror}: {path}")
    return None


def _static_fallback(config: Config, problems: list[str]) -> bytes | None:
    delivery = config.delivery
    data = _configured_image("IMGPROXY_FALLBACK_IMAGE_DATA", delivery.fallback_image_data,
                             "IMGPROXY_FALLBACK_IMAGE_PATH", delivery.fallback_image_path, problems)
    if data is None and delivery.fallback_image_url:
        data = _fetch_now(config, "IMGPROXY_FALLBACK_IMAGE_URL", delivery.fallback_image_url, problems)
    return data


def _watermark(config: Config, problems: list[str]) -> WatermarkSource | None:
    """The watermark image (``*_DATA``, ``*_PATH`` or ``*_URL``), decoded before the processor
    is built, so it is built with it."""
    proc = config.processing
    data = _configured_image("IMGPROXY_WATERMARK_DATA", proc.watermark_data,
                             "IMGPROXY_WATERMARK_PATH", proc.watermark_path, problems)
    setting = "IMGPROXY_WATERMARK_DATA/PATH"
    if data is None and proc.watermark_url:
        setting = "IMGPROXY_WATERMARK_URL"
        data = _fetch_now(config, setting, proc.watermark_url, problems)
    if data is None:
        return None
    try:
        return WatermarkSource(data)
    except Exception as exc:  # any decode failure is a config problem, reported with the rest
        problems.append(f"{setting}: the watermark image can't be decoded: {exc}")
        return None


def _fetch_now(config: Config, setting: str, url: str, problems: list[str]) -> bytes | None:
    """An image a setting names by URL, fetched once through the checked fetcher at start-up
    (before the server's event loop runs); a failure is a config problem like any other."""

    async def fetch() -> bytes:
        fetcher = SourceFetcher(config.fetch, config.security, stores=config.stores)
        try:
            return (await fetcher.fetch(url)).data
        finally:
            await fetcher.close()

    try:
        return _run_soon(fetch())
    except Exception as exc:  # the source errors, and whatever else a download raises
        problems.append(f"{setting}: {exc}")
        return None


def _run_soon(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to completion now: on this thread, or on a helper thread when this one
    already runs an event loop (an app built inside a running loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


@contextlib.asynccontextmanager
async def lifespan(services: Services) -> AsyncIterator[None]:
    """Start what needs the event loop (metrics), say where we listen; stop it all."""
    await services.start()
    _freeze_startup_objects()
    config = services.config
    address = config.server.listen.url
    log.info("imgproxy_py %s listening on %s", VERSION, address,
             extra={"address": address, "workers": config.server.workers,
                    "signing": config.security.signing_enabled})
    try:
        yield
    finally:
        await services.close()
        gc.unfreeze()
        if config.vips.leak_check:  # libvips' report of what is still held, as imgproxy's shutdown
            gc.collect()
            pyvips.shutdown()  # the last use of libvips: the process ends after its lifespan


def _freeze_startup_objects() -> None:
    """Keep what start-up built (libraries, models, registries: ~220,000 objects that live as
    long as the process) out of every later garbage collection.  Each full collection walked
    them all with the GIL held, and no request moved meanwhile: under the 304 load of
    ``python benchmarks/run.py --only w6 --no-thumbor --no-ipx`` 13 full collections took 37 ms
    each (max 45) and made the p99 34 ms for a 5 ms p50; frozen, they walk only what requests
    made (45 ms in all) and the p99 is 7 ms."""
    gc.collect()
    gc.freeze()
