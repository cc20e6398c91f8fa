"""Settings of OpenTelemetry export, with imgproxy's names and defaults.

imgproxy reads ``IMGPROXY_OPEN_TELEMETRY_*`` and the standard ``OTEL_*`` variables; its earlier
names (``IMGPROXY_OPEN_TELEMETRY_ENDPOINT`` as ``host:port``, ``_PROTOCOL``, ``_SERVICE_NAME``,
``_PROPAGATORS``, ``_CONNECTION_TIMEOUT``, ``_GRPC_INSECURE``) still work where the standard
variable is not set.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader

PROTOCOLS = ("grpc", "http/protobuf")
DEFAULT_PROPAGATORS = ("tracecontext", "baggage")
# What OTEL_PROPAGATORS may name, as imgproxy's Go SDK has them.
PROPAGATORS = ("tracecontext", "baggage", "b3", "b3multi", "jaeger", "xray", "ottrace")
ID_GENERATORS = ("xray", "random")
SIGNAL_PATHS = {"traces": "/v1/traces", "metrics": "/v1/metrics", "logs": "/v1/logs"}


@dataclass(frozen=True)
class TelemetryConfig:
    enabled: bool = False
    metrics: bool = False
    logs: bool = False
    protocol: str = "grpc"
    signals: tuple[tuple[str, str, str], ...] = ()  # (signal, protocol, URL) for traces, metrics, logs
    service_name: str = "imgproxy"
    logger_name: str = "imgproxy"  # the instrumentation scope of every log record, as imgproxy names it
    propagators: tuple[str, ...] = DEFAULT_PROPAGATORS
    propagate_external: bool = False  # trace headers on source downloads
    trace_id_generator: str = "xray"
    timeout: float = 10.0
    server_cert: str = ""  # PEM
    client_cert: str = ""
    client_key: str = ""
    metric_interval: float = 60.0

    def endpoint(self, signal: str) -> str:
        return next(url for name, _, url in self.signals if name == signal)

    def protocol_of(self, signal: str) -> str:
        return next(protocol for name, protocol, _ in self.signals if name == signal)

    @staticmethod
    def from_env(env: EnvReader) -> TelemetryConfig:
        # OTEL_* variables may be set for other programs in the same container: their problems
        # stop start-up only when this server exports telemetry.
        r = EnvReader(env.env)
        legacy_endpoint = r.string("IMGPROXY_OPEN_TELEMETRY_ENDPOINT")
        enabled = r.boolean("IMGPROXY_OPEN_TELEMETRY_ENABLE", bool(legacy_endpoint))
        protocol = _protocol(r, "OTEL_EXPORTER_OTLP_PROTOCOL",
                             r.string("IMGPROXY_OPEN_TELEMETRY_PROTOCOL", "grpc"))
        base = r.string("OTEL_EXPORTER_OTLP_ENDPOINT").rstrip("/")
        insecure = r.boolean("IMGPROXY_OPEN_TELEMETRY_GRPC_INSECURE", True)
        legacy_protocol = r.string("IMGPROXY_OPEN_TELEMETRY_PROTOCOL", "grpc").lower()
        if not base and legacy_endpoint:  # host:port; the scheme came from the protocol
            secure = legacy_protocol == "https" or (protocol == "grpc" and not insecure)
            base = ("https://" if secure else "http://") + legacy_endpoint
        signals = []
        for signal, path in SIGNAL_PATHS.items():
            own_protocol = _protocol(r, f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", protocol)
            own = r.string(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
            shared = base or ("https://localhost:4317" if own_protocol == "grpc" else "https://localhost:4318")
            signals.append((signal, own_protocol, own or (shared if own_protocol == "grpc" else shared + path)))
        names = r.string_list("OTEL_PROPAGATORS") or r.string_list("IMGPROXY_OPEN_TELEMETRY_PROPAGATORS")
        propagators = tuple(name.strip().lower() for name in names) or DEFAULT_PROPAGATORS
        for name in propagators:
            if name not in PROPAGATORS:
                r.errors.append(f"OTEL_PROPAGATORS: {name!r} is not one of {', '.join(PROPAGATORS)}")
        generator = r.string("IMGPROXY_OPEN_TELEMETRY_TRACE_ID_GENERATOR", "xray").lower()
        if generator not in ID_GENERATORS:
            r.errors.append(f"IMGPROXY_OPEN_TELEMETRY_TRACE_ID_GENERATOR: {generator!r} is not xray or random")
            generator = "xray"
        timeout_ms = r.number("OTEL_EXPORTER_OTLP_TIMEOUT", 0.0, minimum=0)
        config = TelemetryConfig(
            enabled=enabled,
            metrics=r.boolean("IMGPROXY_OPEN_TELEMETRY_ENABLE_METRICS", False),
            logs=r.boolean("IMGPROXY_OPEN_TELEMETRY_ENABLE_LOGS", False),
            protocol=protocol,
            signals=tuple(signals),
            service_name=r.string("OTEL_SERVICE_NAME") or r.string("IMGPROXY_OPEN_TELEMETRY_SERVICE_NAME", "imgproxy"),
            logger_name=r.string("IMGPROXY_OPEN_TELEMETRY_LOGGER_NAME", "imgproxy") or "imgproxy",
            propagators=tuple(name for name in propagators if name in PROPAGATORS),
            propagate_external=r.boolean("IMGPROXY_OPEN_TELEMETRY_PROPAGATE_EXTERNAL", False),
            trace_id_generator=generator,
            timeout=timeout_ms / 1000 if timeout_ms else r.number("IMGPROXY_OPEN_TELEMETRY_CONNECTION_TIMEOUT", 10.0,
                                                                  minimum=0.001),
            server_cert=_pem(r.string("IMGPROXY_OPEN_TELEMETRY_SERVER_CERT")),
            client_cert=_pem(r.string("IMGPROXY_OPEN_TELEMETRY_CLIENT_CERT")),
            client_key=_pem(r.string("IMGPROXY_OPEN_TELEMETRY_CLIENT_KEY")),
            metric_interval=r.number("OTEL_METRIC_EXPORT_INTERVAL", 60000.0, minimum=1) / 1000,
        )
        if enabled:
            env.errors.extend(r.errors)
        return config


def _protocol(r: EnvReader, name: str, default: str) -> str:
    value = (r.string(name) or default).lower()
    value = "http/protobuf" if value in ("http", "https") else value
    if value not in PROTOCOLS:
        r.errors.append(f"{name}: {value!r} is not grpc or http/protobuf (http/json is not supported, as in "
                        "imgproxy)")
        return "grpc"
    return value


def _pem(value: str) -> str:
    return value.replace("\\n", "\n")  # imgproxy lets line breaks be written as \n
