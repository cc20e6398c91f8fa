"""Metrics with imgproxy's names: Prometheus (``/metrics``) and DataDog (DogStatsD).

The server reports requests, their spans (queue, downloading, processing, streaming)
and errors here; gauges (workers, requests/images in progress, utilization, cache hit
rates) are read from the live objects when scraped or every ``IMGPROXY_METRICS_INTERVAL``
seconds for DogStatsD.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from imgproxy_py.metrics_config import MetricsConfig

log = logging.getLogger("imgproxy_py.metrics")

Gauges = Callable[[], dict[str, float]]


class Metrics:
    def __init__(self, config: MetricsConfig, gauges: Gauges) -> None:
        self.config = config
        self.gauges = gauges
        self.requests_in_progress = 0
        self.images_in_progress = 0
        self._prom: _Prometheus | None = _Prometheus(config, self) if config.prometheus_bind else None
        self._statsd: Any = None
        if config.datadog_enable:
            from datadog.dogstatsd.base import DogStatsd

            tags = [f"service:{config.datadog_service}"]
            tags += [f"env:{config.datadog_env}"] if config.datadog_env else []
            tags += [f"version:{config.datadog_version}"] if config.datadog_version else []
            self._statsd = DogStatsd(host=config.datadog_host, port=config.datadog_port, constant_tags=tags,
                                     disable_telemetry=True, origin_detection_enabled=False)
        self._task: asyncio.Task[None] | None = None

    # --- events -----------------------------------------------------------------------
    def request_finished(self, status: int, seconds: float) -> None:
        if self._prom is not None:
            self._prom.requests.inc()
            self._prom.status_codes.labels(status=str(status)).inc()
            self._prom.duration.observe(seconds)
        if self._statsd is not None:
            tags = [f"status:{status}"]
            self._statsd.increment("imgproxy.requests", tags=tags)
            self._statsd.histogram("imgproxy.request.duration", seconds, tags=tags)

    def span(self, name: str, seconds: float) -> None:
        if self._prom is not None:
            self._prom.spans.labels(span=name).observe(seconds)
        if self._statsd is not None:
            self._statsd.histogram("imgproxy.request.span.duration", seconds, tags=[f"span:{name}"])

    def error(self, kind: str) -> None:
        if self._prom is not None:
            self._prom.errors.labels(type=kind).inc()
        if self._statsd is not None:
            self._statsd.increment("imgproxy.errors", tags=[f"type:{kind}"])

    # --- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        if self._prom is not None:
            self._prom.serve()
        if self._statsd is not None:
            self._task = asyncio.create_task(self._gauge_loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._prom is not None:
            self._prom.shutdown()
        if self._statsd is not None:
            self._statsd.close_socket()

    async def _gauge_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.gauge_interval)
            try:
                for name, value in self.gauges().items():
                    self._statsd.gauge(f"imgproxy.{name}", value)
            except OSError as exc:  # a missing agent must never hurt requests
                log.debug("dogstatsd send failed: %s", exc)


def _gauge_reader(metrics: Metrics, name: str) -> Callable[[], float]:
    return lambda: metrics.gauges().get(name, 0.0)


class _Prometheus:
    def __init__(self, config: MetricsConfig, metrics: Metrics) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        ns = config.prometheus_namespace
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter("requests", "A counter of the total number of HTTP requests imgproxy processed",
                                namespace=ns, registry=reg)
        self.status_codes = Counter("status_codes", "A counter of the response status codes", ["status"],
                                    namespace=ns, registry=reg)
        self.errors = Counter("errors", "A counter of the occurred errors separated by type", ["type"],
                              namespace=ns, registry=reg)
        self.duration = Histogram("request_duration_seconds", "A histogram of the response latency",
                                  namespace=ns, registry=reg)
        self.spans = Histogram("request_span_duration_seconds", "A histogram of the queue latency, "
                               "downloading, processing and streaming", ["span"], namespace=ns, registry=reg)
        for name, doc in (("workers", "A gauge of the number of running workers"),
                          ("requests_in_progress", "A gauge of the number of requests in progress"),
                          ("images_in_progress", "A gauge of the number of images currently being processed"),
                          ("workers_utilization", "A gauge of the workers utilization in percents"),
                          ("source_cache_hit_rate", "Share of source lookups served from the source cache"),
                          ("result_cache_hit_rate", "Share of result lookups served from the result cache")):
            Gauge(name, doc, namespace=ns, registry=reg).set_function(_gauge_reader(metrics, name))
        self.config = config
        self._server: Any = None

    def serve(self) -> None:
        from prometheus_client import start_http_server

        host, _, port = self.config.prometheus_bind.rpartition(":")
        self._server, _thread = start_http_server(int(port), addr=host or "0.0.0.0", registry=self.registry)
        log.info("prometheus metrics on %s", self.config.prometheus_bind)

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
