"""An OTLP receiver on loopback, for the OpenTelemetry tests: what a collector's OTLP receiver
does (HTTP/protobuf on ``/v1/{traces,metrics,logs}``, or gRPC), decoding every export request with
the protocol's own message classes (opentelemetry-proto) and keeping them for assertions."""

from __future__ import annotations

import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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

    def latest(self, kind: str, service: str = "") -> dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, str]]:
        """The last exported point of every ``kind`` ("sum" or "histogram") metric, by name and
        attributes: (the cumulative value, or a histogram's count; the unit); ``service``: only
        what that ``service.name`` sent."""
        out: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, str]] = {}
        with self.lock:
            for request in self.metrics:
                for metric in (m for rm in request.resource_metrics
                               if not service or service in (a.value.string_value for a in rm.resource.attributes
                                                             if a.key == "service.name")
                               for sm in rm.scope_metrics for m in sm.metrics):
                    if not metric.HasField(kind):
                        continue
                    for point in getattr(metric, kind).data_points:
                        attributes = tuple(sorted((a.key, a.value.string_value) for a in point.attributes))
                        value = point.count if kind == "histogram" else (point.as_double or float(point.as_int))
                        out[(metric.name, attributes)] = (value, metric.unit)
        return out

    def log_scopes(self) -> set[str]:
        with self.lock:
            return {sl.scope.name for request in self.logs for rl in request.resource_logs for sl in rl.scope_logs}

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


def self_signed_certificate() -> tuple[str, str]:
    """(certificate, key), PEM, for 127.0.0.1: a collector's TLS identity."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "collector")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return (certificate.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


class HttpReceiver(Received):
    def __init__(self, tls: tuple[str, str] | None = None) -> None:
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
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            with tempfile.TemporaryDirectory() as folder:
                cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
                cert.write_text(tls[0])
                key.write_text(tls[1])
                context.load_cert_chain(cert, key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.endpoint = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class GrpcTraceReceiver(Received):
    def __init__(self, tls: tuple[str, str] | None = None, client_ca: str = "") -> None:
        """``client_ca``: mutual TLS, clients must show a certificate it signed."""
        import grpc

        super().__init__()
        receiver = self

        class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:  # the gRPC method name
                receiver.add("traces", request)
                return trace_service_pb2.ExportTraceServiceResponse()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), self.server)
        if tls is None:
            port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            credentials = grpc.ssl_server_credentials([(tls[1].encode(), tls[0].encode())],
                                                      root_certificates=client_ca.encode() or None,
                                                      require_client_auth=bool(client_ca))
            port = self.server.add_secure_port("127.0.0.1:0", credentials)
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{port}"

    def close(self) -> None:
        self.server.stop(grace=None)
