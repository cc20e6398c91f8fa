"""imgproxy's Amazon CloudWatch metrics: its gauges, every ``IMGPROXY_METRICS_INTERVAL`` seconds,
in ``IMGPROXY_CLOUD_WATCH_NAMESPACE`` with the ``ServiceName`` dimension.

botocore (the ``cloud`` extra) with the standard AWS credentials and endpoint settings; the
calls run in a thread, and a failing call is logged, never felt by requests.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from imgproxy_py.metrics_config import MetricsConfig
from imgproxy_py.sources.s3 import DEFAULT_REGION

log = logging.getLogger("imgproxy_py.metrics")

# Our gauge -> imgproxy's CloudWatch metric and unit.
CLOUD_WATCH_METRICS = {
    "workers": (("Workers", "Count"),),
    "requests_in_progress": (("RequestsInProgress", "Count"),),
    "images_in_progress": (("ImagesInProgress", "Count"),),
    "workers_utilization": (("WorkersUtilization", "Percent"), ("ConcurrencyUtilization", "Percent")),
    "vips_memory_bytes": (("VipsMemory", "Bytes"),),
    "vips_max_memory_bytes": (("VipsMaxMemory", "Bytes"),),
    "vips_allocs": (("VipsAllocs", "Count"),),
}


class CloudWatch:
    def __init__(self, config: MetricsConfig) -> None:
        import botocore.session  # the cloud extra; ImportError tells the caller it is missing
        from botocore.config import Config as BotocoreConfig

        session = botocore.session.Session()
        region = config.cloud_watch_region or session.get_config_variable("region") or DEFAULT_REGION
        self.client: Any = session.create_client("cloudwatch", region_name=region, config=BotocoreConfig(
            connect_timeout=10, read_timeout=30, retries={"max_attempts": 2}))
        self.namespace = config.cloud_watch_namespace
        self.dimensions = [{"Name": "ServiceName", "Value": config.cloud_watch_service_name}]

    def send(self, gauges: Mapping[str, float]) -> None:
        """One PutMetricData call with imgproxy's gauges (blocking: call it from a thread)."""
        from botocore.exceptions import BotoCoreError, ClientError

        data = [{"MetricName": name, "Dimensions": self.dimensions, "Unit": unit, "Value": float(gauges[gauge])}
                for gauge, metrics in CLOUD_WATCH_METRICS.items() if gauge in gauges for name, unit in metrics]
        try:
            self.client.put_metric_data(Namespace=self.namespace, MetricData=data)
        except (BotoCoreError, ClientError) as exc:
            log.warning("CloudWatch: can't send metrics: %s", exc)

    def close(self) -> None:
        self.client.close()
