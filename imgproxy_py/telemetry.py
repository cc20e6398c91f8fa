"""OpenTelemetry: request traces, imgproxy's gauges and the log, sent to an OTLP collector.

As imgproxy does: one span per request (the incoming W3C ``traceparent`` as its parent), with
the spans ``queue``, ``downloading_image``, ``processing_image`` and ``streaming_image`` under
it and the request's error recorded on it; optionally imgproxy's gauges as OTLP metrics, the
log as OTLP log records, and the trace headers on source downloads
(``IMGPROXY_OPEN_TELEMETRY_PROPAGATE_EXTERNAL``).  Trace ids are AWS X-Ray compatible by default
(the first 4 bytes are the start time), as imgproxy's are.

The ``otel`` extra (opentelemetry-sdk, its OTLP exporters and AWS id generator) is imported only
when ``IMGPROXY_OPEN_TELEMETRY_ENABLE`` is on.  Providers are this server's own, not the
process-wide globals, so nothing else in the process reports through them.
"""

from __future__ import annotations

import importlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Scope

from imgproxy_py import __version__
from imgproxy_py.metrics import (
    CACHE_HITS_HELP,
    CACHE_MISSES_HELP,
    DURATION_HELP,
    ERRORS_HELP,
    GAUGE_HELP,
    IMGPROXY_GAUGES,
    REQUESTS_HELP,
    SPANS_HELP,
    STATUS_CODES_HELP,
    Gauges,
    RequestSpanMiddleware,
)
from imgproxy_py.telemetry_config import TelemetryConfig

_EXPORTER_MODULES = {"traces": "trace_exporter", "metrics": "metric_exporter", "logs": "_log_exporter"}
_EXPORTER_CLASSES = {"traces": "OTLPSpanExporter", "metrics": "OTLPMetricExporter", "logs": "OTLPLogExporter"}


class Telemetry:
    def __init__(self, config: TelemetryConfig, gauges: Gauges) -> None:
        from opentelemetry.propagators.composite import CompositePropagator
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

        self.config = config
        self._cert_dir = ""
        resource = Resource.create({"service.name": config.service_name, "service.version": __version__})
        generator: IdGenerator = RandomIdGenerator()
        if config.trace_id_generator == "xray":
            from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator

            generator = AwsXRayIdGenerator()
        self.tracer_provider = TracerProvider(resource=resource, id_generator=generator)
        self.tracer_provider.add_span_processor(BatchSpanProcessor(self._exporter("traces")))
        self.tracer = self.tracer_provider.get_tracer("imgproxy_py", __version__)
        self.propagator = CompositePropagator([_propagator(name) for name in config.propagators])
        self.header_getter = _header_getter()
        self.meter_provider: Any = None
        self._instruments: _Instruments | None = None
        if config.metrics:
            self.meter_provider, self._instruments = self._meters(resource, gauges)
        self.logger_provider: Any = None
        self._log_handler: logging.Handler | None = None
        if config.logs:
            self._start_logs(resource)

    # --- spans ----------------------------------------------------------------------------
    def span(self, name: str, seconds: float) -> None:
        """A finished part of the current request, ``seconds`` long and ending now."""
        end = time.time_ns()
        child = self.tracer.start_span(name, start_time=end - int(seconds * 1e9))
        child.end(end_time=end)
        if self._instruments is not None:
            self._instruments.spans.record(seconds, {"span": name})

    def error(self, kind: str, exc: BaseException | None = None) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        current = trace.get_current_span()
        current.set_attribute("error.type", kind)
        current.set_status(Status(StatusCode.ERROR, str(exc) if exc is not None else kind))

    def count_error(self, kind: str) -> None:
        """imgproxy's ``errors_total{type}``: once per error, from the metrics hub (``error``
        also runs for the span of a request whose unexpected error the hub then sees again)."""
        if self._instruments is not None:
            self._instruments.errors.add(1, {"type": kind})

    def cache_lookup(self, hit: bool) -> None:
        if self._instruments is not None:
            (self._instruments.cache_hits if hit else self._instruments.cache_misses).add(1)

    def request_finished(self, status: int, seconds: float) -> None:
        """A request answered: imgproxy's (4.0.9) request counters and latency, as OTLP metrics."""
        if self._instruments is not None:
            self._instruments.requests.add(1)
            self._instruments.status_codes.add(1, {"status": str(status)})
            self._instruments.duration.record(seconds)

    def inject(self, headers: dict[str, str]) -> None:
        """The current trace's headers on a source download (IMGPROXY_OPEN_TELEMETRY_PROPAGATE_EXTERNAL)."""
        self.propagator.inject(headers)

    def shutdown(self) -> None:
        """Send what is buffered and stop (at server shutdown)."""
        self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()
        if self.logger_provider is not None:
            if self._log_handler is not None:
                logging.getLogger("imgproxy_py").removeHandler(self._log_handler)
            self.logger_provider.shutdown()
        if self._cert_dir:
            for name in os.listdir(self._cert_dir):
                os.unlink(os.path.join(self._cert_dir, name))
            os.rmdir(self._cert_dir)

    # --- building -------------------------------------------------------------------------
    def _exporter(self, signal: str) -> Any:
        config = self.config
        endpoint = config.endpoint(signal)
        transport = "grpc" if config.protocol_of(signal) == "grpc" else "http"
        module = importlib.import_module(f"opentelemetry.exporter.otlp.proto.{transport}.{_EXPORTER_MODULES[signal]}")
        exporter = getattr(module, _EXPORTER_CLASSES[signal])
        if transport == "http":
            session = None
            if config.server_cert:
                import requests

                # Else REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, when set, would replace the certificate given.
                session = requests.Session()
                session.trust_env = False
            return exporter(endpoint=endpoint, timeout=config.timeout, session=session,
                            certificate_file=self._pem_file("server.pem", config.server_cert),
                            client_certificate_file=self._pem_file("client.pem", config.client_cert),
                            client_key_file=self._pem_file("client.key", config.client_key))
        import grpc

        credentials = None
        if config.server_cert or endpoint.startswith("https://"):  # imgproxy: a server cert means TLS
            credentials = grpc.ssl_channel_credentials(root_certificates=config.server_cert.encode() or None,
                                                       private_key=config.client_key.encode() or None,
                                                       certificate_chain=config.client_cert.encode() or None)
        return exporter(endpoint=endpoint.split("://", 1)[-1], insecure=credentials is None, credentials=credentials,
                        timeout=config.timeout)

    def _pem_file(self, name: str, pem: str) -> str | None:
        """The HTTP exporter takes files: PEM text given in a setting goes to a private folder."""
        if not pem:
            return None
        if not self._cert_dir:
            self._cert_dir = tempfile.mkdtemp(prefix="imgproxy-otel-")
        path = os.path.join(self._cert_dir, name)
        if os.path.exists(path):  # written for an earlier signal's exporter: the same text
            return path
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as stream:
            stream.write(pem)
        return path

    def _meters(self, resource: Any, gauges: Gauges) -> tuple[Any, _Instruments]:
        from opentelemetry.metrics import CallbackOptions, Observation
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        reader = PeriodicExportingMetricReader(self._exporter("metrics"),
                                               export_interval_millis=self.config.metric_interval * 1000)
        provider = MeterProvider(resource=resource, metric_readers=[reader])
        meter = provider.get_meter("imgproxy_py", __version__)

        def observe(name: str) -> Callable[[CallbackOptions], list[Observation]]:
            return lambda options: [Observation(gauges().get(name, 0.0))]

        for name in IMGPROXY_GAUGES:  # imgproxy's gauges, under their Prometheus names
            meter.create_observable_gauge(name, callbacks=[observe(name)], description=GAUGE_HELP[name])
        for name, (field, description) in _PROCESS_MEMORY.items():
            meter.create_observable_gauge(name, callbacks=[_process_memory(field)], unit="By",
                                          description=description)
        return provider, _Instruments(
            requests=meter.create_counter("requests_total", unit="1", description=REQUESTS_HELP),
            status_codes=meter.create_counter("status_codes_total", unit="1", description=STATUS_CODES_HELP),
            errors=meter.create_counter("errors_total", unit="1", description=ERRORS_HELP),
            duration=meter.create_histogram("request_duration_seconds", unit="s", description=DURATION_HELP),
            spans=meter.create_histogram("request_span_duration_seconds", unit="s", description=SPANS_HELP),
            cache_hits=meter.create_counter("cache_hits_total", unit="1", description=CACHE_HITS_HELP),
            cache_misses=meter.create_counter("cache_misses_total", unit="1", description=CACHE_MISSES_HELP))

    def _start_logs(self, resource: Any) -> None:
        from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        self.logger_provider = LoggerProvider(resource=resource)
        self.logger_provider.add_log_record_processor(BatchLogRecordProcessor(self._exporter("logs")))
        one_scope: Any = _OneScope(self.logger_provider, self.config.logger_name)  # duck-typed provider
        self._log_handler = LoggingHandler(level=logging.INFO, logger_provider=one_scope)
        logging.getLogger("imgproxy_py").addHandler(self._log_handler)


@dataclass(frozen=True)
class _Instruments:
    """imgproxy's (4.0.9) request metrics as OpenTelemetry instruments, under its names."""

    requests: Any
    status_codes: Any
    errors: Any
    duration: Any
    spans: Any
    cache_hits: Any
    cache_misses: Any


# imgproxy's process gauges: name -> (field of /proc/self/statm, in pages; description).
_PROCESS_MEMORY = {"process_resident_memory_bytes": (1, "Resident memory size in bytes."),
                   "process_virtual_memory_bytes": (0, "Virtual memory size in bytes.")}


def _process_memory(field: int) -> Callable[[Any], list[Any]]:
    from opentelemetry.metrics import Observation

    def observe(options: Any) -> list[Any]:
        try:
            with open("/proc/self/statm", encoding="ascii") as statm:
                pages = int(statm.read().split()[field])
        except (OSError, ValueError, IndexError):  # not Linux: nothing to report
            return []
        return [Observation(pages * os.sysconf("SC_PAGE_SIZE"))]

    return observe


class _OneScope:
    """The logger provider as the log handler sees it: every record under one instrumentation
    scope (``IMGPROXY_OPEN_TELEMETRY_LOGGER_NAME``), as imgproxy sends them, instead of one scope
    per Python logger."""

    def __init__(self, provider: Any, scope: str) -> None:
        self.provider = provider
        self.scope = scope

    def get_logger(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.provider.get_logger(self.scope, __version__)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.provider.force_flush(timeout_millis))


def _propagator(name: str) -> Any:
    """The ``OTEL_PROPAGATORS`` entry ``name`` (W3C's in the SDK, the others in their own packages)."""
    if name == "baggage":
        from opentelemetry.baggage.propagation import W3CBaggagePropagator

        return W3CBaggagePropagator()
    if name in ("b3", "b3multi"):
        from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat

        return B3SingleFormat() if name == "b3" else B3MultiFormat()
    if name == "jaeger":
        from opentelemetry.propagators.jaeger import JaegerPropagator

        return JaegerPropagator()
    if name == "xray":
        from opentelemetry.propagators.aws import AwsXRayPropagator

        return AwsXRayPropagator()
    if name == "ottrace":
        from opentelemetry.propagators.ot_trace import OTTracePropagator

        return OTTracePropagator()
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def _header_getter() -> Any:
    """Reads ASGI's lower-cased header names whatever case a propagator asks in (X-Ray asks for
    ``X-Amzn-Trace-Id``)."""
    from opentelemetry.propagators.textmap import Getter

    class HeaderGetter(Getter[dict[str, str]]):
        def get(self, carrier: dict[str, str], key: str) -> list[str] | None:
            value = carrier.get(key.lower())
            return [value] if value is not None else None

        def keys(self, carrier: dict[str, str]) -> list[str]:
            return list(carrier)

    return HeaderGetter()


class TelemetryMiddleware(RequestSpanMiddleware):
    """One span per request, a child of the caller's ``traceparent``, current while it runs."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry, silent_paths: Container[str] = frozenset()) -> None:
        super().__init__(app, telemetry, silent_paths)
        self.telemetry = telemetry

    def start(self, scope: Scope, headers: dict[str, str]) -> Any:
        from opentelemetry import context, trace
        from opentelemetry.trace import SpanKind

        parent = self.telemetry.propagator.extract(headers, getter=self.telemetry.header_getter)
        method = scope.get("method", "GET")
        attributes = {"http.request.method": method, "url.path": scope.get("path", ""),
                      "url.scheme": scope.get("scheme", "http")}
        span = self.telemetry.tracer.start_span(method, context=parent, kind=SpanKind.SERVER, attributes=attributes)
        return span, context.attach(trace.set_span_in_context(span, parent))

    def finish(self, started: Any, status: int) -> None:
        from opentelemetry import context
        from opentelemetry.trace import Status, StatusCode

        span, token = started
        span.set_attribute("http.response.status_code", status)
        # A 5xx whose error set the status already keeps its description.
        if status >= 500 and getattr(getattr(span, "status", None), "status_code", None) is not StatusCode.ERROR:
            span.set_status(Status(StatusCode.ERROR))
        context.detach(token)
        span.end()
