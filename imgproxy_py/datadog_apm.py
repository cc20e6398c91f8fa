"""DataDog APM traces, as imgproxy sends them with ``IMGPROXY_DATADOG_ENABLE`` (the ``datadog`` extra).

One ``request`` span per request (type ``web``, tags ``http.method``, ``http.url``,
``http.status_code``), a child of the caller's trace when its headers carry one, with imgproxy's
``queue``, ``downloading_image``, ``processing_image`` and ``streaming_image`` spans under it; an
error marks it with imgproxy's category as ``error.type``.  ``IMGPROXY_DATADOG_PROPAGATE_EXTERNAL``
puts the trace's headers on source downloads.  Spans go to the agent at
``DD_AGENT_HOST:DD_TRACE_AGENT_PORT`` through ddtrace, imported only when this is on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Container
from typing import Any

from starlette.types import ASGIApp, Scope

from imgproxy_py import __version__
from imgproxy_py.metrics import RequestSpanMiddleware
from imgproxy_py.metrics_config import MetricsConfig


def _ddtrace_settings(config: MetricsConfig) -> dict[str, str]:
    """ddtrace takes its settings from the environment only, when it is first imported: the values
    start-up read (from the environment, or from a .env file or a secret laid over it)."""
    settings = {"DD_AGENT_HOST": config.datadog_host, "DD_TRACE_AGENT_PORT": str(config.datadog_trace_port),
                "DD_SERVICE": config.datadog_service, "DD_VERSION": config.datadog_version or __version__,
                "DD_TRACE_STARTUP_LOGS": str(config.datadog_trace_startup_logs).lower()}
    if config.datadog_env:
        settings["DD_ENV"] = config.datadog_env
    return settings


class DatadogTracing:
    def __init__(self, config: MetricsConfig) -> None:
        os.environ.update(_ddtrace_settings(config))  # before ddtrace's first import reads them
        from ddtrace.propagation.http import HTTPPropagator
        from ddtrace.trace import tracer

        self.config = config
        self.tracer: Any = tracer
        self.propagator: Any = HTTPPropagator

    def span(self, name: str, seconds: float) -> None:
        """A finished part of the current request, ``seconds`` long and ending now."""
        parent = self.tracer.current_span()
        if parent is None:
            return
        end = time.time()
        child = self.tracer.start_span(name, child_of=parent, service=self.config.datadog_service)
        child.start = end - seconds
        child.finish(finish_time=end)

    def error(self, kind: str, exc: BaseException | None = None) -> None:
        span = self.tracer.current_root_span()
        if span is not None:
            span.error = 1
            span.set_tag("error.type", kind)
            span.set_tag("error.message", str(exc) if exc is not None else kind)

    def inject(self, headers: dict[str, str]) -> None:
        """The current trace's headers on a source download (IMGPROXY_DATADOG_PROPAGATE_EXTERNAL)."""
        span = self.tracer.current_span()
        if span is not None:
            self.propagator.inject(span.context, headers)

    def shutdown(self) -> None:
        """Send what is buffered (at server shutdown)."""
        self.tracer.shutdown(timeout=2.0)


class DatadogMiddleware(RequestSpanMiddleware):
    """The ``request`` span, current while the request runs."""

    def __init__(self, app: ASGIApp, tracing: DatadogTracing, silent_paths: Container[str] = frozenset()) -> None:
        super().__init__(app, tracing, silent_paths)
        self.tracing: DatadogTracing = tracing

    def start(self, scope: Scope, headers: dict[str, str]) -> Any:
        tracing = self.tracing
        parent = tracing.propagator.extract(headers)
        span = tracing.tracer.start_span("request", child_of=parent if parent.trace_id else None,
                                         service=tracing.config.datadog_service, span_type="web", activate=True)
        raw = scope.get("raw_path") or scope.get("path", "").encode()
        query = scope.get("query_string") or b""
        span.set_tag("http.method", scope.get("method", "GET"))
        span.set_tag("http.url", (raw + (b"?" + query if query else b"")).decode("latin-1"))
        return span

    def finish(self, span: Any, status: int) -> None:
        span.set_tag("http.status_code", str(status))
        if status >= 500:
            span.error = 1
        span.finish()
