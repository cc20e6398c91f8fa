"""OpenTelemetry through ``imgproxy-py serve`` into an OTLP receiver on loopback: request spans
under the caller's trace, imgproxy's span names, errors, gauges, logs, trace headers on
source downloads, X-Ray trace ids; HTTP/protobuf and gRPC."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgproxy_py.config import read_config
from tests.cluster_nodes import Node
from tests.conftest import asset
from tests.otlp_receiver import GrpcTraceReceiver, HttpReceiver, self_signed_certificate
from tests.servers import Origin

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
# A request a span is made for (health checks get none, as imgproxy monitors only what it serves).
PROCESSED = "/unsafe/rs:fit:8:8/plain/local:///core/hopper.jpg"
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_METRIC_EXPORT_INTERVAL": "300",
               "OTEL_BLRP_SCHEDULE_DELAY": "100"}


@pytest.fixture(scope="module")
def collector() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def traced(collector: HttpReceiver) -> Iterator[tuple[Node, Origin]]:
    origin = Origin()
    origin.add("/hopper.jpg", asset("hopper.jpg").read_bytes())
    node = Node({"IMGPROXY_OPEN_TELEMETRY_ENABLE": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                 "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "IMGPROXY_OPEN_TELEMETRY_ENABLE_METRICS": "true",
                 "IMGPROXY_OPEN_TELEMETRY_ENABLE_LOGS": "true", "IMGPROXY_OPEN_TELEMETRY_PROPAGATE_EXTERNAL": "true",
                 "IMGPROXY_OPEN_TELEMETRY_LOGGER_NAME": "books-images", "IMGPROXY_DOWNLOAD_TIMEOUT": "1",
                 **FAST_EXPORT})
    try:
        node.wait_ready()
        yield node, origin
    finally:
        node.stop()
        origin.close()


def hex_id(raw: bytes) -> str:
    return raw.hex()


def test_request_span_joins_the_callers_trace(collector: HttpReceiver, traced: tuple[Node, Origin]) -> None:
    node, origin = traced
    response = httpx.get(f"{node.base}/unsafe/rs:fit:32:32/plain/{origin.url('/hopper.jpg')}",
                         headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}, timeout=30)
    assert response.status_code == 200

    def in_trace() -> list[tuple[dict[str, str], object]]:
        return [(res, span) for res, span in collector.spans() if hex_id(span.trace_id) == TRACE_ID]

    collector.wait_for(lambda: len(in_trace()) >= 5 and any(span.name == "GET" for _, span in in_trace()))
    spans = [span for _, span in in_trace()]
    (request,) = [span for span in spans if hex_id(span.parent_span_id) == PARENT_ID]
    attributes = {a.key: a.value for a in request.attributes}
    assert request.name == "GET" and attributes["http.response.status_code"].int_value == 200
    children = {span.name for span in spans if span.parent_span_id == request.span_id}
    assert {"queue", "downloading_image", "processing_image", "streaming_image"} <= children
    assert in_trace()[0][0]["service.name"] == "imgproxy"
    # IMGPROXY_OPEN_TELEMETRY_PROPAGATE_EXTERNAL: the source download carried the trace.
    sent = [headers for path, headers in origin.requests if path == "/hopper.jpg"]
    assert sent and sent[-1]["traceparent"].split("-")[1] == TRACE_ID


def test_new_traces_have_xray_ids(collector: HttpReceiver, traced: tuple[Node, Origin]) -> None:
    node, _ = traced
    before = int(time.time())
    assert httpx.get(f"{node.base}/unsafe/rs:fit:16:16/plain/local:///core/hopper.jpg", timeout=30).status_code == 200
    collector.wait_for(lambda: any(s.attributes and s.name == "GET" and not s.parent_span_id
                                   for _, s in collector.spans()))
    roots = [span for _, span in collector.spans() if span.name == "GET" and not span.parent_span_id]
    started = int.from_bytes(roots[-1].trace_id[:4], "big")  # X-Ray: the first 4 bytes are the epoch second
    assert before - 5 <= started <= time.time() + 5


def request_span(collector: HttpReceiver, node: Node, path: str, trace_id: str, status: int) -> tuple[Any, Any]:
    """GET ``path`` in the caller's trace ``trace_id``, expecting ``status``: the request's span as
    the collector received it, and its attributes by key."""
    assert httpx.get(f"{node.base}{path}", timeout=30,
                     headers={"traceparent": f"00-{trace_id}-{PARENT_ID}-01"}).status_code == status
    # The request's span ends last: it may come in a later batch than its children.
    collector.wait_for(lambda: any(hex_id(s.trace_id) == trace_id and s.name == "GET" for _, s in collector.spans()))
    (span,) = [s for _, s in collector.spans() if hex_id(s.trace_id) == trace_id and s.name == "GET"]
    return span, {a.key: a.value for a in span.attributes}


def test_errors_mark_the_span(collector: HttpReceiver, traced: tuple[Node, Origin]) -> None:
    node, _ = traced
    span, attributes = request_span(collector, node, "/unsafe/rs:fit:16:16/plain/local:///core/missing.jpg",
                                    "0af7651916cd43dd8448eb211c80319c", 404)
    assert span.status.code == 2  # STATUS_CODE_ERROR
    assert attributes["error.type"].string_value == "download"
    assert attributes["http.response.status_code"].int_value == 404
    # The warning logged for it went out as an OTLP log record too.
    collector.wait_for(lambda: any("missing.jpg" in body for body in collector.log_bodies()))
    assert collector.log_scopes() == {"books-images"}  # IMGPROXY_OPEN_TELEMETRY_LOGGER_NAME, for every logger


def test_a_5xx_keeps_its_error_on_the_span(collector: HttpReceiver, traced: tuple[Node, Origin]) -> None:
    """A source that answers after IMGPROXY_DOWNLOAD_TIMEOUT: a 504, and the span's error status
    keeps the error's description (closing the span with the 5xx must not wipe it)."""
    node, origin = traced
    slow = origin.add("/slow.jpg", asset("hopper.jpg").read_bytes(), delay=2.5)
    span, attributes = request_span(collector, node, f"/unsafe/rs:fit:16:16/plain/{slow}",
                                    "1af7651916cd43dd8448eb211c80319d", 504)
    assert span.status.code == 2 and "slow.jpg" in span.status.message, span.status
    assert attributes["error.type"].string_value == "download"  # imgproxy's category for a source timeout
    assert attributes["http.response.status_code"].int_value == 504


def test_gauges_are_exported(collector: HttpReceiver, traced: tuple[Node, Origin]) -> None:
    collector.wait_for(lambda: "workers" in collector.gauges())
    gauges = collector.gauges()
    assert gauges["workers"] == 2  # the node's IMGPROXY_WORKERS
    assert {"requests_in_progress", "images_in_progress", "workers_utilization"} <= gauges.keys()


def test_request_metrics_are_exported_as_imgproxy_4_names_them(collector: HttpReceiver,
                                                               traced: tuple[Node, Origin]) -> None:
    node, _ = traced
    assert httpx.get(node.base + PROCESSED).status_code == 200
    assert httpx.get(node.base + "/unsafe/rs:fit:8:8/plain/local:///core/none.jpg").status_code == 404

    def exported() -> bool:
        sums = collector.latest("sum")
        return sums.get(("status_codes_total", (("status", "404"),)), (0.0, ""))[0] >= 1 and any(
            name == "request_span_duration_seconds" for name, _ in collector.latest("histogram"))

    collector.wait_for(exported)
    sums, histograms = collector.latest("sum"), collector.latest("histogram")
    assert sums[("requests_total", ())][0] >= 2
    assert sums[("status_codes_total", (("status", "200"),))][0] >= 1
    assert sums[("errors_total", (("type", "download"),))][0] >= 1  # imgproxy's category for a missing source
    count, unit = histograms[("request_duration_seconds", ())]
    assert count >= 2 and unit == "s"
    assert histograms[("request_span_duration_seconds", (("span", "processing_image"),))][0] >= 1
    assert collector.gauges()["process_resident_memory_bytes"] > 10 * 2**20


def test_internal_cache_hits_and_misses_are_counted(collector: HttpReceiver, tmp_path: Path) -> None:
    node = Node({"IMGPROXY_OPEN_TELEMETRY_ENABLE": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                 "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "IMGPROXY_OPEN_TELEMETRY_ENABLE_METRICS": "true",
                 "OTEL_SERVICE_NAME": "cached-images", "IMGPROXY_CACHE_USE": "fs",
                 "IMGPROXY_CACHE_FS_ROOT": str(tmp_path), **FAST_EXPORT})
    try:
        node.wait_ready()
        for _ in range(3):
            assert httpx.get(node.base + PROCESSED).status_code == 200
        collector.wait_for(lambda: collector.latest("sum", "cached-images").get(("cache_hits_total", ()),
                                                                               (0.0, ""))[0] >= 2)
        assert collector.latest("sum", "cached-images")[("cache_misses_total", ())][0] == 1
    finally:
        node.stop()


def test_grpc_with_imgproxy_3_settings() -> None:
    receiver = GrpcTraceReceiver()
    node = Node({"IMGPROXY_OPEN_TELEMETRY_ENDPOINT": receiver.endpoint.removeprefix("http://"),
                 "IMGPROXY_OPEN_TELEMETRY_SERVICE_NAME": "images-eu",
                 "IMGPROXY_OPEN_TELEMETRY_TRACE_ID_GENERATOR": "random", **FAST_EXPORT})
    try:
        node.wait_ready()
        assert httpx.get(f"{node.base}/unsafe/rs:fit:16:16/plain/local:///core/hopper.jpg", timeout=30,
                         headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}).status_code == 200
        receiver.wait_for(lambda: any(hex_id(s.trace_id) == TRACE_ID for _, s in receiver.spans()))
        resource, _ = next((r, s) for r, s in receiver.spans() if hex_id(s.trace_id) == TRACE_ID)
        assert resource["service.name"] == "images-eu"
    finally:
        node.stop()
        receiver.close()


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc", "grpc+mtls"])
def test_collector_behind_tls(protocol: str) -> None:
    tls = self_signed_certificate()
    client = self_signed_certificate()
    if protocol == "http/protobuf":
        receiver: HttpReceiver | GrpcTraceReceiver = HttpReceiver(tls)
    else:
        receiver = GrpcTraceReceiver(tls, client_ca=client[0] if protocol == "grpc+mtls" else "")
    # The certificates as imgproxy takes them: PEM with "\n" for line breaks. With gRPC a server
    # certificate means TLS even for the receiver's http:// endpoint, as in imgproxy.
    env = {"IMGPROXY_OPEN_TELEMETRY_ENABLE": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": protocol.split("+")[0],
           "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
           "IMGPROXY_OPEN_TELEMETRY_SERVER_CERT": tls[0].replace("\n", "\\n"), **FAST_EXPORT}
    if protocol == "grpc+mtls":
        env.update(IMGPROXY_OPEN_TELEMETRY_CLIENT_CERT=client[0], IMGPROXY_OPEN_TELEMETRY_CLIENT_KEY=client[1])
    node = Node(env)
    try:
        node.wait_ready()
        assert httpx.get(f"{node.base}/unsafe/rs:fit:16:16/plain/local:///core/hopper.jpg", timeout=30,
                         headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}).status_code == 200
        receiver.wait_for(lambda: any(hex_id(s.trace_id) == TRACE_ID for _, s in receiver.spans()))
    finally:
        node.stop()
        receiver.close()


def test_each_signal_its_own_protocol(collector: HttpReceiver) -> None:
    """Traces over gRPC to one receiver, metrics over HTTP/protobuf to another."""
    traces = GrpcTraceReceiver()
    metrics = HttpReceiver()
    node = Node({"IMGPROXY_OPEN_TELEMETRY_ENABLE": "true", "IMGPROXY_OPEN_TELEMETRY_ENABLE_METRICS": "true",
                 "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": metrics.endpoint,
                 "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": traces.endpoint,
                 **FAST_EXPORT})
    try:
        node.wait_ready()
        assert httpx.get(f"{node.base}{PROCESSED}", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
                         timeout=30).status_code == 200
        traces.wait_for(lambda: any(hex_id(s.trace_id) == TRACE_ID for _, s in traces.spans()))
        metrics.wait_for(lambda: "workers" in metrics.gauges())
        assert metrics.spans() == []
    finally:
        node.stop()
        traces.close()
        metrics.close()


def propagation_headers(name: str, trace_id: str) -> dict[str, str]:
    """The caller's trace in the header format of the propagator ``name``."""
    return {
        "tracecontext": {"traceparent": f"00-{trace_id}-{PARENT_ID}-01"},
        "b3": {"b3": f"{trace_id}-{PARENT_ID}-1"},
        "b3multi": {"X-B3-TraceId": trace_id, "X-B3-SpanId": PARENT_ID, "X-B3-Sampled": "1"},
        "jaeger": {"uber-trace-id": f"{trace_id}:{PARENT_ID}:0:1"},
        "xray": {"X-Amzn-Trace-Id": f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={PARENT_ID};Sampled=1"},
        "ottrace": {"ot-tracer-traceid": trace_id, "ot-tracer-spanid": PARENT_ID, "ot-tracer-sampled": "true"},
    }[name]


def test_every_propagator_imgproxy_knows(collector: HttpReceiver) -> None:
    names = ["tracecontext", "b3", "b3multi", "jaeger", "xray", "ottrace"]
    node = Node({"IMGPROXY_OPEN_TELEMETRY_ENABLE": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                 "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_PROPAGATORS": ",".join(names),
                 **FAST_EXPORT})
    try:
        node.wait_ready()
        trace_ids = {name: f"{index + 1:08x}" + "5f3a9c0e1d2b4a6c7e8f9a0b" for index, name in enumerate(names)}
        for name, trace_id in trace_ids.items():
            assert httpx.get(f"{node.base}{PROCESSED}", headers=propagation_headers(name, trace_id),
                             timeout=30).status_code == 200
        collector.wait_for(lambda: set(trace_ids.values()) <= {hex_id(s.trace_id) for _, s in collector.spans()
                                                                 if s.name == "GET"})
        for name, trace_id in trace_ids.items():
            (span,) = [s for _, s in collector.spans() if hex_id(s.trace_id) == trace_id and s.name == "GET"]
            assert hex_id(span.parent_span_id) == PARENT_ID, name
    finally:
        node.stop()


@pytest.mark.parametrize(("env", "expected"), [
    ({"IMGPROXY_OPEN_TELEMETRY_ENABLE": "true"}, ("grpc", "https://localhost:4317")),
    ({"IMGPROXY_OPEN_TELEMETRY_ENABLE": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": "http"},
     ("http/protobuf", "https://localhost:4318/v1/traces")),
    ({"IMGPROXY_OPEN_TELEMETRY_ENDPOINT": "otel:4317"}, ("grpc", "http://otel:4317")),
    ({"IMGPROXY_OPEN_TELEMETRY_ENDPOINT": "otel:4317", "IMGPROXY_OPEN_TELEMETRY_GRPC_INSECURE": "false"},
     ("grpc", "https://otel:4317")),
    ({"IMGPROXY_OPEN_TELEMETRY_ENDPOINT": "otel:4318", "IMGPROXY_OPEN_TELEMETRY_PROTOCOL": "https"},
     ("http/protobuf", "https://otel:4318/v1/traces")),
    ({"IMGPROXY_OPEN_TELEMETRY_ENABLE": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
      "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:1/x"},
     ("http/protobuf", "http://t:1/x")),
])
def test_settings(env: dict[str, str], expected: tuple[str, str]) -> None:
    config, problems = read_config(env)
    assert not problems and config.telemetry.enabled
    assert (config.telemetry.protocol, config.telemetry.endpoint("traces")) == expected


def test_other_programs_otel_settings_do_not_stop_us() -> None:
    _, problems = read_config({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_PROPAGATORS": "zipkin"})
    assert problems == []  # telemetry is off: these are for another program in the container


def test_bad_settings_stop_start_up() -> None:
    _, problems = read_config({"IMGPROXY_OPEN_TELEMETRY_ENABLE": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                               "OTEL_PROPAGATORS": "zipkin", "IMGPROXY_OPEN_TELEMETRY_TRACE_ID_GENERATOR": "uuid"})
    assert sorted(p.split(":")[0] for p in problems) == [
        "IMGPROXY_OPEN_TELEMETRY_TRACE_ID_GENERATOR", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_PROPAGATORS"]


@pytest.mark.parametrize(("module", "settings", "named"), [
    ("opentelemetry", {"IMGPROXY_OPEN_TELEMETRY_ENABLE": "true"},
     "IMGPROXY_OPEN_TELEMETRY_ENABLE: needs the otel extra"),
    ("botocore", {"IMGPROXY_CLOUD_WATCH_SERVICE_NAME": "images"}, "IMGPROXY_CLOUD_WATCH_SERVICE_NAME: needs the cloud"),
    ("bugsnag", {"IMGPROXY_BUGSNAG_KEY": "k"}, "error reporting: needs the reporters extra"),
])
def test_a_missing_extra_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch, module: str,
                                                  settings: dict[str, str], named: str) -> None:
    import sys

    from imgproxy_py.errors import ConfigError
    from imgproxy_py.server.composition import build_services

    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, module, None)
    config, _ = read_config(settings)
    with pytest.raises(ConfigError) as raised:
        build_services(config)
    assert any(problem.startswith(named) for problem in raised.value.problems), raised.value.problems
