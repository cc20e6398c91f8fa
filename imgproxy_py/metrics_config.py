"""Settings of the Prometheus, DataDog (metrics and APM traces), New Relic and CloudWatch metrics."""

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
    new_relic_key: str = ""  # set: New Relic's agent reports transactions, errors and imgproxy's gauges
    new_relic_app_name: str = "imgproxy"
    new_relic_labels: tuple[tuple[str, str], ...] = ()
    new_relic_propagate_external: bool = False  # distributed-trace headers on source downloads
    # The agent's own variables: another collector (a proxy, or New Relic's FedRAMP or EU hosts;
    # by default the licence key's region chooses), its CA bundle, and how long start-up waits
    # for the agent to connect (0: it connects in the background, as imgproxy's agent does).
    new_relic_host: str = ""
    new_relic_port: int = 0
    new_relic_ca_bundle_path: str = ""
    new_relic_startup_timeout: float = 0.0

    @property
    def prometheus_address(self) -> tuple[str, int]:
        """``IMGPROXY_PROMETHEUS_BIND`` as (host, port): every interface when the host is empty,
        an IPv6 host without its brackets."""
        host, _, port = self.prometheus_bind.rpartition(":")
        return host.strip("[]") or "0.0.0.0", int(port)

    @staticmethod
    def from_env(r: EnvReader) -> MetricsConfig:
        bind = r.string("IMGPROXY_PROMETHEUS_BIND")
        if bind and (":" not in bind or not bind.rpartition(":")[2].isdigit()):
            r.errors.append(f"IMGPROXY_PROMETHEUS_BIND: {bind!r} is not host:port")
            bind = ""
        new_relic_key = r.string("IMGPROXY_NEW_RELIC_KEY")
        app_name = r.string("IMGPROXY_NEW_RELIC_APP_NAME", "imgproxy")
        if new_relic_key and not app_name.strip():
            r.errors.append("IMGPROXY_NEW_RELIC_APP_NAME: must not be empty when IMGPROXY_NEW_RELIC_KEY is set")
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
            new_relic_key=new_relic_key,
            new_relic_app_name=app_name,
            new_relic_labels=r.parsed("IMGPROXY_NEW_RELIC_LABELS", (), parse_labels),
            new_relic_propagate_external=r.boolean("IMGPROXY_NEW_RELIC_PROPAGATE_EXTERNAL", False),
            new_relic_host=r.string("NEW_RELIC_HOST"),
            new_relic_port=r.integer("NEW_RELIC_PORT", 0, minimum=0, maximum=65535),
            new_relic_ca_bundle_path=r.string("NEW_RELIC_CA_BUNDLE_PATH"),
            new_relic_startup_timeout=r.number("NEW_RELIC_STARTUP_TIMEOUT", 0.0, minimum=0.0),
        )


def parse_labels(text: str) -> tuple[tuple[str, str], ...]:
    """imgproxy's ``key1=value1;key2=value2`` (empty entries skipped)."""
    labels = []
    for entry in text.split(";"):
        entry = entry.strip()
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"invalid key=value: {entry!r}")
        labels.append((key.strip(), value.strip()))
    return tuple(labels)
