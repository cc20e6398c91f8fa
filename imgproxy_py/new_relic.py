"""New Relic APM, as imgproxy reports to it with ``IMGPROXY_NEW_RELIC_KEY`` (the ``newrelic`` extra).

One web transaction per request, named as imgproxy's (``WebTransaction/Go/request``, so that a
dashboard built on imgproxy keeps working), in the caller's distributed trace when its headers
carry one (``newrelic``, W3C ``traceparent``), with imgproxy's segments ``queue``,
``downloading_image``, ``processing_image`` and ``streaming_image`` (``Custom/<name>``); an error
is noticed on it with imgproxy's category as the ``error.type`` attribute.  Every
``IMGPROXY_METRICS_INTERVAL``, imgproxy's gauges go as custom metrics ``Custom/imgproxy/<name>``;
the agent adds the process's CPU and memory.  ``IMGPROXY_NEW_RELIC_LABELS`` become the
application's labels, and ``IMGPROXY_NEW_RELIC_PROPAGATE_EXTERNAL`` puts the trace's headers on
source downloads.  The agent is imported only when this is on.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from starlette.types import ASGIApp, Scope

from imgproxy_py.metrics import RequestSpanMiddleware
from imgproxy_py.metrics_config import MetricsConfig

# The agent's own limits on labels (its configuration file's parser applies them).
MAX_LABELS, MAX_LABEL_LENGTH = 64, 255
# imgproxy's gauge names under New Relic's ``Custom/imgproxy/`` (Prometheus name -> New Relic's).
GAUGE_NAMES = {
    "workers": "workers",
    "requests_in_progress": "requests_in_progress",
    "images_in_progress": "images_in_progress",
    "workers_utilization": "workers_utilization",
    "vips_memory_bytes": "vips/memory",
    "vips_max_memory_bytes": "vips/max_memory",
    "vips_allocs": "vips/allocs",
}
SHUTDOWN_SECONDS = 5.0  # imgproxy's wait for the agent's last harvest


class NewRelicTracing:
    def __init__(self, config: MetricsConfig) -> None:
        import newrelic.agent
        from newrelic.api.function_trace import FunctionTrace
        from newrelic.api.web_transaction import WebTransaction

        settings = newrelic.agent.global_settings()
        # What the agent's initialize() would set; it is not called, because it would also patch
        # every library it knows (starlette, uvicorn, httpx) with transactions of its own.
        settings.enabled = True
        settings.license_key = config.new_relic_key
        settings.app_name = config.new_relic_app_name
        settings.labels = [{"label_type": key[:MAX_LABEL_LENGTH], "label_value": value[:MAX_LABEL_LENGTH]}
                           for key, value in config.new_relic_labels[:MAX_LABELS]]
        if config.new_relic_host:
            settings.host = config.new_relic_host
        if config.new_relic_port:
            settings.port = config.new_relic_port
        if config.new_relic_ca_bundle_path:
            settings.ca_bundle_path = config.new_relic_ca_bundle_path
        self.agent: Any = newrelic.agent
        self.web_transaction: Any = WebTransaction
        self.function_trace: Any = FunctionTrace
        self.application: Any = newrelic.agent.register_application(timeout=config.new_relic_startup_timeout)

    def span(self, name: str, seconds: float) -> None:
        """A finished part of the current request, ``seconds`` long and ending now: a segment
        opened and closed at once, its start moved back (not before its transaction's)."""
        transaction = self.agent.current_transaction()
        if transaction is None:
            return
        segment = self.function_trace(name, group="Custom")
        segment.__enter__()
        segment.start_time = max(transaction.start_time, segment.start_time - seconds)
        segment.__exit__(None, None, None)

    def error(self, kind: str, exc: BaseException | None = None) -> None:
        transaction = self.agent.current_transaction()
        if transaction is None:
            return
        error = exc if exc is not None else RuntimeError(kind)
        transaction.notice_error(error=(type(error), error, error.__traceback__), attributes={"error.type": kind})

    def inject(self, headers: dict[str, str]) -> None:
        """The current trace's headers on a source download (IMGPROXY_NEW_RELIC_PROPAGATE_EXTERNAL)."""
        pairs: list[tuple[str, str]] = []
        self.agent.insert_distributed_trace_headers(pairs)
        headers.update(pairs)

    def record_gauges(self, gauges: dict[str, float]) -> None:
        for name, value in gauges.items():
            if name in GAUGE_NAMES:
                self.agent.record_custom_metric(f"Custom/imgproxy/{GAUGE_NAMES[name]}", value,
                                                application=self.application)

    def shutdown(self) -> None:
        """The agent's last harvest (at server shutdown)."""
        self.agent.shutdown_agent(timeout=SHUTDOWN_SECONDS)


class NewRelicMiddleware(RequestSpanMiddleware):
    """The ``request`` web transaction, current while the request runs."""

    def __init__(self, app: ASGIApp, tracing: NewRelicTracing, silent_paths: Container[str] = frozenset()) -> None:
        super().__init__(app, tracing, silent_paths)
        self.tracing: NewRelicTracing = tracing

    def start(self, scope: Scope, headers: dict[str, str]) -> Any:
        tracing = self.tracing
        server = scope.get("server") or (None, None)
        raw = scope.get("raw_path") or scope.get("path", "").encode()
        transaction = tracing.web_transaction(
            tracing.application, "request", group="Go", scheme=scope.get("scheme"), host=server[0],
            port=server[1], request_method=scope.get("method", "GET"), request_path=raw.decode("latin-1"),
            query_string=(scope.get("query_string") or b"").decode("latin-1"), headers=list(headers.items()))
        transaction.__enter__()
        return transaction

    def finish(self, transaction: Any, status: int) -> None:
        transaction.process_response(str(status), [])
        transaction.__exit__(None, None, None)
