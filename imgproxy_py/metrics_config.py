"""Settings of the Prometheus, DataDog (metrics and APM traces) and CloudWatch metrics."""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader


@dataclass(frozen=True)
class MetricsConfig:
    prometheus_bind: str = ""
    prometheus_namespace: str = ""
    datadog_enable: bool = False
    datadog_additional_metrics: bool = False  # imgproxy's imgproxy.* gauges
    datadog_host: str = "localhost"
    datadog_port: int = 8125
    datadog_service: str = "imgproxy"
    datadog_env: str = ""
    datadog_version: str = ""
    datadog_trace_port: int = 8126  # the agent's trace intake (APM)
    datadog_trace_startup_logs: bool = False
    datadog_propagate_external: bool = False  # trace headers on source downloads
    gauge_interval: float = 10.0
    cloud_watch_service_name: str = ""  # set: imgproxy's gauges go to CloudWatch
    cloud_watch_namespace: str = "imgproxy"
    cloud_watch_region: str = ""

    @staticmethod
    def from_env(r: EnvReader) -> MetricsConfig:
        bind = r.string("IMGPROXY_PROMETHEUS_BIND")
        if bind and (":" not in bind or not bind.rpartition(":")[2].isdigit()):
            r.errors.append(f"IMGPROXY_PROMETHEUS_BIND: {bind!r} is not host:port")
            bind = ""
        return MetricsConfig(
            prometheus_bind=bind,
            prometheus_namespace=r.string("IMGPROXY_PROMETHEUS_NAMESPACE"),
            datadog_enable=r.boolean("IMGPROXY_DATADOG_ENABLE", False),
            datadog_additional_metrics=r.boolean("IMGPROXY_DATADOG_ENABLE_ADDITIONAL_METRICS", False),
            datadog_host=r.string("DD_AGENT_HOST", "localhost"),
            datadog_port=r.integer("DD_DOGSTATSD_PORT", 8125, minimum=1, maximum=65535),
            datadog_service=r.string("DD_SERVICE", "imgproxy"),
            datadog_env=r.string("DD_ENV"),
            datadog_version=r.string("DD_VERSION"),
            datadog_trace_port=r.integer("DD_TRACE_AGENT_PORT", 8126, minimum=1, maximum=65535),
            datadog_trace_startup_logs=r.boolean("DD_TRACE_STARTUP_LOGS", False),
            datadog_propagate_external=r.boolean("IMGPROXY_DATADOG_PROPAGATE_EXTERNAL", False),
            gauge_interval=r.number("IMGPROXY_METRICS_INTERVAL", 10.0, minimum=0.05),
            cloud_watch_service_name=r.string("IMGPROXY_CLOUD_WATCH_SERVICE_NAME"),
            cloud_watch_namespace=r.string("IMGPROXY_CLOUD_WATCH_NAMESPACE", "imgproxy"),
            cloud_watch_region=r.string("IMGPROXY_CLOUD_WATCH_REGION") or r.string("AWS_REGION"),
        )
