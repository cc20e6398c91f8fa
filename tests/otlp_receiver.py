"""An OTLP receiver on loopback, for the OpenTelemetry tests: what a collector's OTLP receiver
does (HTTP/protobuf on ``/v1/{traces,metrics,logs}``, or gRPC), decoding every export request with
the protocol's own message classes (opentelemetry-proto) and keeping them for assertions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

MESSAGES = {"/v1/traces": trace_service_pb2.ExportTraceServiceRequest,
            "/v1/metrics": metrics_service_pb2.ExportMetricsServiceRequest,
            "/v1/logs": logs_service_pb2.ExportLogsServiceRequest}


class Received:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.traces: list[Any] = []
        self.metrics: list[Any] = []
        self.logs: list[Any] = []

    def add(self, kind: str, message: Any) -> None:
        with self.lock:
            getattr(self, kind).append(message)

    def spans(self) -> list[tuple[dict[str, str], Any]]:
        """(resource attributes, span) for every span received."""
        with self.lock:
            return [({a.key: a.value.string_value for a in rs.resource.attributes}, span)
                    for request in self.traces for rs in request.resource_spans
                    for ss in rs.scope_spans for span in ss.spans]

    def gauges(self) -> dict[str, float]:
        with self.lock:
            return {metric.name: point.as_double or float(point.as_int)
                    for request in self.metrics for rm in request.resource_metrics for sm in rm.scope_metrics
                    for metric in sm.metrics for point in metric.gauge.data_points}

    def log_bodies(self) -> list[str]:
        with self.lock:
            return [record.body.string_value for request in self.logs for rl in request.resource_logs
                    for sl in rl.scope_logs for record in sl.log_records]

    def wait_for(self, ready: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise AssertionError("the collector did not receive it in time")
            time.sleep(0.05)


class HttpReceiver(Received):
    def __init__(self) -> None:
        super().__init__()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                message = MESSAGES.get(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if message is None or self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.add(self.path.rsplit("/", 1)[1], message.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class GrpcTraceReceiver(Received):
    def __init__(self) -> None:
        import grpc

        super().__init__()
        receiver = self

        class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:  # the gRPC method name
                receiver.add("traces", request)
                return trace_service_pb2.ExportTraceServiceResponse()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{port}"

    def close(self) -> None:
        self.server.stop(grace=None)
