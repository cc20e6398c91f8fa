"""Metrics with imgproxy's names: Prometheus (``/metrics``), DataDog (DogStatsD) and CloudWatch;
the hub every request's spans and errors go through, to them and to the tracers (OpenTelemetry,
DataDog APM, New Relic).

What imgproxy reports keeps imgproxy's name, labels and buckets, so its dashboards work
unchanged: ``requests_total``, ``status_codes_total{status}``, ``errors_total{type}`` (its error
categories: ``path_parsing``, ``security``, ``download``, ``image_data_size``, ``processing``,
``queue``, ``timeout``), ``request_duration_seconds``, ``request_span_duration_seconds{span}``
(``queue``, ``downloading_image``, ``processing_image``, ``streaming_image``), the gauges
``workers``, ``requests_in_progress``, ``images_in_progress``, ``workers_utilization``,
``vips_memory_bytes``, ``vips_max_memory_bytes``, ``vips_allocs``, the process collector's
``process_*`` and imgproxy Pro's internal-cache ``cache_hits_total`` / ``cache_misses_total``;
for DataDog, imgproxy's ``imgproxy.*`` gauges.  What only imgproxy_py reports is prefixed
``imgproxy_py_`` (``imgproxy_py.`` for DogStatsD).  Gauges are read from the live objects when
scraped, or every ``IMGPROXY_METRICS_INTERVAL`` seconds for DogStatsD.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Container
from typing import TYPE_CHECKING, Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgproxy_py.metrics_config import MetricsConfig

if TYPE_CHECKING:
    from imgproxy_py.cloudwatch import CloudWatch
    from imgproxy_py.datadog_apm import DatadogTracing
    from imgproxy_py.metrics_processes import HostFigures, PrometheusSlot
    from imgproxy_py.new_relic import NewRelicTracing
    from imgproxy_py.telemetry import Telemetry


class RequestTracing(Protocol):
    """A tracer of requests: it hears of each finished part of the current request and its error."""

    def span(self, name: str, seconds: float) -> None: ...

    def error(self, kind: str, exc: BaseException | None) -> None: ...

    def shutdown(self) -> None: ...


class RequestSpanMiddleware:
    """A tracer's span around each HTTP request: ``start`` opens it (current while the request
    runs), ``finish`` closes it with the answer's status (500 when none was sent).  Requests for
    ``silent_paths`` (the health checks) get none, as imgproxy monitors only what it serves."""

    def __init__(self, app: ASGIApp, tracing: RequestTracing, silent_paths: Container[str] = frozenset()) -> None:
        self.app = app
        self.tracing = tracing
        self.silent_paths = silent_paths

    def start(self, scope: Scope, headers: dict[str, str]) -> Any:
        raise NotImplementedError

    def finish(self, span: Any, status: int) -> None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.silent_paths:
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers") or []}
        span = self.start(scope, headers)
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        except Exception as exc:
            # No handler inside answered it: the outermost one (Starlette's server-error
            # middleware) answers 500 once this span is closed, so the error goes on it now.
            self.tracing.error("processing", exc)
            raise
        finally:
            self.finish(span, status)

log = logging.getLogger("imgproxy_py.metrics")

Gauges = Callable[[], dict[str, float]]

# The Go client's default buckets, which imgproxy's histograms use (Python's default has more).
IMGPROXY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# imgproxy's gauges: Prometheus name -> DogStatsD name.
IMGPROXY_GAUGES = {
    "workers": "imgproxy.workers",
    "requests_in_progress": "imgproxy.requests_in_progress",
    "images_in_progress": "imgproxy.images_in_progress",
    "workers_utilization": "imgproxy.workers_utilization",
    "vips_memory_bytes": "imgproxy.vips.memory",
    "vips_max_memory_bytes": "imgproxy.vips.max_memory",
    "vips_allocs": "imgproxy.vips.allocs",
}
GAUGE_HELP = {
    "workers": "A gauge of the number of running workers.",
    "requests_in_progress": "A gauge of the number of requests currently being in progress.",
    "images_in_progress": "A gauge of the number of images currently being in progress.",
    "workers_utilization": "A gauge of the workers utilization in percents.",
    "vips_memory_bytes": "A gauge of the vips tracked memory usage in bytes.",
    "vips_max_memory_bytes": "A gauge of the max vips tracked memory usage in bytes.",
    "vips_allocs": "A gauge of the number of active vips allocations.",
    "source_cache_hit_rate": "Share of source lookups served from the source cache.",
    "result_cache_hit_rate": "Share of result lookups served from the result cache.",
}
OWN_PREFIX = "imgproxy_py"
# imgproxy's descriptions of its request metrics (Prometheus and, since 4.0.9, OpenTelemetry).
REQUESTS_HELP = "A counter of the total number of HTTP requests imgproxy processed."
STATUS_CODES_HELP = "A counter of the response status codes."
ERRORS_HELP = "A counter of the occurred errors separated by type."
DURATION_HELP = "A histogram of the response latency."
SPANS_HELP = "A histogram of the request spans duration separated by span name."
# imgproxy Pro's (4.0.9) internal cache counters.
CACHE_HITS_HELP = "A counter of the requests answered from the internal cache."
CACHE_MISSES_HELP = "A counter of the requests the internal cache had to have processed."


class Metrics:
    def __init__(self, config: MetricsConfig, gauges: Gauges, telemetry: Telemetry | None = None,
                 cloud_watch: CloudWatch | None = None, datadog_apm: DatadogTracing | None = None,
                 new_relic: NewRelicTracing | None = None, prometheus_slot: PrometheusSlot | None = None) -> None:
        """``prometheus_slot``: this process's place among several sharing one Prometheus
        endpoint (``metrics_processes``); None: one process, its own endpoint."""
        self.config = config
        self.telemetry = telemetry  # OpenTelemetry spans and errors
        self.datadog_apm = datadog_apm  # DataDog APM spans and errors
        self.new_relic = new_relic  # New Relic transactions, errors and imgproxy's gauges
        self.tracing: tuple[RequestTracing, ...] = tuple(
            t for t in (telemetry, datadog_apm, new_relic) if t is not None)
        self.cloud_watch = cloud_watch  # imgproxy's gauges every gauge_interval
        self.gauges = gauges
        self.requests_in_progress = 0
        self.images_in_progress = 0
        self._prom: _Prometheus | None = _Prometheus(config, self, prometheus_slot) if config.prometheus_bind else None
        self._statsd: Any = None
        if config.datadog_enable:
            from datadog.dogstatsd.base import DogStatsd

            tags = [f"service:{config.datadog_service}"]
            tags += [f"env:{config.datadog_env}"] if config.datadog_env else []
            tags += [f"version:{config.datadog_version}"] if config.datadog_version else []
            self._statsd = DogStatsd(host=config.datadog_host, port=config.datadog_port, constant_tags=tags,
                                     disable_telemetry=True, origin_detection_enabled=False)
        self._task: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None  # this process's gauges, for the others' scrapes

    # --- events -----------------------------------------------------------------------
    def request_finished(self, status: int, seconds: float) -> None:
        if self.telemetry is not None:
            self.telemetry.request_finished(status, seconds)
        if self._prom is not None:
            self._prom.requests.inc()
            self._prom.status_codes.labels(status=str(status)).inc()
            self._prom.duration.observe(seconds)
        if self._statsd is not None:
            tags = [f"status:{status}"]
            self._statsd.increment(f"{OWN_PREFIX}.requests", tags=tags)
            self._statsd.histogram(f"{OWN_PREFIX}.request.duration", seconds, tags=tags)

    def span(self, name: str, seconds: float) -> None:
        for tracing in self.tracing:
            tracing.span(name, seconds)
        if self._prom is not None:
            self._prom.spans.labels(span=name).observe(seconds)
        if self._statsd is not None:
            self._statsd.histogram(f"{OWN_PREFIX}.request.span.duration", seconds, tags=[f"span:{name}"])

    def cache_lookup(self, hit: bool) -> None:
        """A request the internal cache answered (``hit``) or had to render."""
        if self.telemetry is not None:
            self.telemetry.cache_lookup(hit)
        if self._prom is not None:
            (self._prom.cache_hits if hit else self._prom.cache_misses).inc()
        if self._statsd is not None:
            self._statsd.increment(f"{OWN_PREFIX}.cache.{'hits' if hit else 'misses'}")

    def error(self, kind: str, exc: BaseException | None = None) -> None:
        """An error of imgproxy's category ``kind``; ``exc`` is the error itself, when there is one."""
        for tracing in self.tracing:
            tracing.error(kind, exc)
        if self.telemetry is not None:
            self.telemetry.count_error(kind)
        if self._prom is not None:
            self._prom.errors.labels(type=kind).inc()
        if self._statsd is not None:
            self._statsd.increment(f"{OWN_PREFIX}.errors", tags=[f"type:{kind}"])

    # --- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        if self._prom is not None:
            self._prom.serve()
        if self._statsd is not None or self.cloud_watch is not None or self.new_relic is not None:
            self._task = asyncio.create_task(self._gauge_loop())
        if self._prom is not None and self._prom.host is not None:
            self._refresher = asyncio.create_task(self._prom.host.refresh_every_second())

    async def stop(self) -> None:
        for task in (self._task, self._refresher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._prom is not None:
            self._prom.shutdown()
        if self._statsd is not None:
            self._statsd.close_socket()
        for tracing in self.tracing:
            await asyncio.to_thread(tracing.shutdown)  # flushes to the collector or agent
        if self.cloud_watch is not None:
            self.cloud_watch.close()

    async def _gauge_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.gauge_interval)
            gauges = self.gauges()  # one reading per tick, for every sink
            if self.cloud_watch is not None:
                await asyncio.to_thread(self.cloud_watch.send, gauges)
            if self.new_relic is not None:
                self.new_relic.record_gauges(gauges)  # into the agent's buffer: it harvests itself
            if self._statsd is None:
                continue
            try:
                for name, value in gauges.items():
                    if name in IMGPROXY_GAUGES:  # imgproxy sends these only when asked to
                        if self.config.datadog_additional_metrics:
                            self._statsd.gauge(IMGPROXY_GAUGES[name], value)
                    else:
                        self._statsd.gauge(f"{OWN_PREFIX}.{name}", value)
            except OSError as exc:  # a missing agent must never hurt requests
                log.debug("dogstatsd send failed: %s", exc)


def _gauge_reader(metrics: Metrics, name: str) -> Callable[[], float]:
    return lambda: metrics.gauges().get(name, 0.0)


def _own(name: str) -> str:
    return name if name in IMGPROXY_GAUGES else f"{OWN_PREFIX}_{name}"


class _Prometheus:
    def __init__(self, config: MetricsConfig, metrics: Metrics, slot: PrometheusSlot | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

        ns = config.prometheus_namespace
        self.registry = CollectorRegistry()  # what a scrape reads
        self.slot = slot
        self.host: HostFigures | None = None
        if slot is not None:
            # Several processes: each writes its figures to its files; a scrape merges them all.
            slot.write_to_files()
        reg = self.registry if slot is None else None
        self.requests = Counter("requests", REQUESTS_HELP, namespace=ns, registry=reg)
        self.status_codes = Counter("status_codes", STATUS_CODES_HELP, ["status"], namespace=ns, registry=reg)
        self.errors = Counter("errors", ERRORS_HELP, ["type"], namespace=ns, registry=reg)
        self.duration = Histogram("request_duration_seconds", DURATION_HELP, namespace=ns, registry=reg,
                                  buckets=IMGPROXY_BUCKETS)
        self.spans = Histogram("request_span_duration_seconds", SPANS_HELP, ["span"], namespace=ns, registry=reg,
                               buckets=IMGPROXY_BUCKETS)
        self.cache_hits = Counter("cache_hits", CACHE_HITS_HELP, namespace=ns, registry=reg)
        self.cache_misses = Counter("cache_misses", CACHE_MISSES_HELP, namespace=ns, registry=reg)
        if slot is not None:
            self.host = slot.host_figures(ns, GAUGE_HELP, _own, metrics.gauges, self.registry)
        else:
            for name, doc in GAUGE_HELP.items():
                Gauge(_own(name), doc, namespace=ns, registry=reg).set_function(_gauge_reader(metrics, name))
            ProcessCollector(namespace=ns, registry=reg)  # process_resident_memory_bytes and the rest
        self.config = config
        self._server: Any = None

    def serve(self) -> None:
        from prometheus_client import start_http_server

        if self.slot is not None and self.host is not None:
            self._server = self.slot.serve(self.registry, before=self.host.refresh)
            log.info("prometheus metrics of every process on %s", self.config.prometheus_bind)
            return
        host, port = self.config.prometheus_address
        self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        log.info("prometheus metrics on %s", self.config.prometheus_bind)

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
