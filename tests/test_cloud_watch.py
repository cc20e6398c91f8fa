"""imgproxy's CloudWatch metrics through ``imgproxy-py serve`` into moto's CloudWatch on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cloud_services import moto_server
from tests.cluster_nodes import Node

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
METRICS = {"Workers", "RequestsInProgress", "ImagesInProgress", "WorkersUtilization", "ConcurrencyUtilization",
           "VipsMemory", "VipsMaxMemory", "VipsAllocs"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def cloud_watch(endpoint: str, region: str) -> Any:
    import boto3

    return boto3.client("cloudwatch", region_name=region, endpoint_url=endpoint, **{
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing"})


def wait_for_metrics(client: Any, namespace: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        metrics: list[dict[str, Any]] = client.list_metrics(Namespace=namespace)["Metrics"]
        if {m["MetricName"] for m in metrics} >= METRICS:
            return metrics
        time.sleep(0.2)
    raise AssertionError(f"CloudWatch has no {namespace} metrics")


def test_gauges_go_to_cloud_watch(endpoint: str) -> None:
    node = Node({**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "IMGPROXY_CLOUD_WATCH_SERVICE_NAME": "images-eu",
                 "IMGPROXY_CLOUD_WATCH_NAMESPACE": "imgproxy-test", "IMGPROXY_CLOUD_WATCH_REGION": "eu-west-1",
                 "IMGPROXY_METRICS_INTERVAL": "0.2"})
    try:
        node.wait_ready()
        client = cloud_watch(endpoint, "eu-west-1")
        metrics = wait_for_metrics(client, "imgproxy-test")
        assert all(m["Dimensions"] == [{"Name": "ServiceName", "Value": "images-eu"}] for m in metrics)
        now = time.time()
        stats = client.get_metric_statistics(Namespace="imgproxy-test", MetricName="Workers",
                                             Dimensions=[{"Name": "ServiceName", "Value": "images-eu"}],
                                             StartTime=now - 600, EndTime=now + 60, Period=60,
                                             Statistics=["Maximum"])["Datapoints"]
        assert stats and stats[0]["Maximum"] == 2 and stats[0]["Unit"] == "Count"  # the node's IMGPROXY_WORKERS
        # Another region's CloudWatch got nothing.
        assert cloud_watch(endpoint, "us-west-1").list_metrics(Namespace="imgproxy-test")["Metrics"] == []
    finally:
        node.stop()


def test_default_namespace_and_region(endpoint: str) -> None:
    node = Node({**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "IMGPROXY_CLOUD_WATCH_SERVICE_NAME": "images",
                 "IMGPROXY_METRICS_INTERVAL": "0.2", "AWS_REGION": "", "AWS_DEFAULT_REGION": ""})
    try:
        node.wait_ready()
        wait_for_metrics(cloud_watch(endpoint, "us-west-1"), "imgproxy")  # imgproxy's defaults
    finally:
        node.stop()
