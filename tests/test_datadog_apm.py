"""DataDog APM traces (IMGPROXY_DATADOG_ENABLE, the datadog extra): the real ddtrace in a real
server process, sending to a listener that speaks the agent's trace intake on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack
import pytest

from tests.cluster_nodes import served_then_stopped
from tests.servers import ASSETS, Origin
from tests.test_error_reporting import ReportListener

TRACE_ID, PARENT_ID = 1234567, 7654321
CALLER = {"x-datadog-trace-id": str(TRACE_ID), "x-datadog-parent-id": str(PARENT_ID),
          "x-datadog-sampling-priority": "1"}


def agent_spans(agent: ReportListener) -> list[dict[str, Any]]:
    """Every span the agent got, from its v0.5 payloads (a string table, then traces of spans
    whose strings are indexes into it)."""
    spans = []
    for path, _, body in list(agent.posts):
        if not path.endswith("/v0.5/traces"):
            continue
        strings, traces = msgpack.unpackb(body, strict_map_key=False)
        for trace in traces:
            for service, name, _, trace_id, span_id, parent_id, _, _, error, meta, _, kind in trace:
                spans.append({"service": strings[service], "name": strings[name], "trace_id": trace_id,
                              "span_id": span_id, "parent_id": parent_id, "error": error, "type": strings[kind],
                              "meta": {strings[k]: strings[v] for k, v in meta.items()}})
    return spans


@pytest.fixture()
def agent() -> Iterator[ReportListener]:
    listener = ReportListener()
    yield listener
    listener.close()


def agent_env(agent: ReportListener, **extra: str) -> dict[str, str]:
    port = agent.url.rpartition(":")[2]
    return {"IMGPROXY_DATADOG_ENABLE": "true", "DD_AGENT_HOST": "127.0.0.1", "DD_TRACE_AGENT_PORT": port,
            "DD_DOGSTATSD_PORT": port, "DD_SERVICE": "images", **extra}


def test_requests_are_traced_in_the_callers_trace(agent: ReportListener) -> None:
    origin = Origin()
    origin.add("/hopper.jpg", (ASSETS / "core" / "hopper.jpg").read_bytes())
    try:
        served_then_stopped(agent_env(agent, IMGPROXY_DATADOG_PROPAGATE_EXTERNAL="true"), [
            (f"/unsafe/rs:fit:32:32/plain/{origin.url('/hopper.jpg')}", CALLER, 200),
            ("/unsafe/rs:fit:32:32/plain/local:///core/missing.jpg", {}, 404),
        ])
        sent = [headers for path, headers in origin.requests if path == "/hopper.jpg"]
    finally:
        origin.close()
    spans = agent_spans(agent)
    (request,) = [s for s in spans if s["name"] == "request" and s["trace_id"] == TRACE_ID]
    assert request["parent_id"] == PARENT_ID and request["service"] == "images" and request["type"] == "web"
    assert request["meta"]["http.method"] == "GET" and request["meta"]["http.status_code"] == "200"
    assert request["meta"]["http.url"].startswith("/unsafe/rs:fit:32:32/plain/http://127.0.0.1")
    children = {s["name"] for s in spans if s["parent_id"] == request["span_id"]}
    assert {"queue", "downloading_image", "processing_image", "streaming_image"} <= children
    # IMGPROXY_DATADOG_PROPAGATE_EXTERNAL: the source download carried the trace.
    assert sent and sent[-1]["x-datadog-trace-id"] == str(TRACE_ID)
    # The failed request: a trace of its own, marked with imgproxy's error category.
    (failed,) = [s for s in spans if s["name"] == "request" and s["meta"]["http.status_code"] == "404"]
    assert failed["trace_id"] != TRACE_ID and failed["error"] == 1 and failed["meta"]["error.type"] == "download"


def test_downloads_carry_no_trace_unless_asked(agent: ReportListener) -> None:
    origin = Origin()
    origin.add("/hopper.jpg", (ASSETS / "core" / "hopper.jpg").read_bytes())
    try:
        served_then_stopped(agent_env(agent),
                            [(f"/unsafe/rs:fit:32:32/plain/{origin.url('/hopper.jpg')}", CALLER, 200)])
        sent = [headers for path, headers in origin.requests if path == "/hopper.jpg"]
    finally:
        origin.close()
    assert sent and not any(name.lower().startswith("x-datadog") for name in sent[-1])
    assert any(s["name"] == "request" and s["trace_id"] == TRACE_ID for s in agent_spans(agent))


def test_without_the_extra_metrics_still_go(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """IMGPROXY_DATADOG_ENABLE without ddtrace: a warning naming the extra, and the DogStatsD
    metrics, which need only the datadog package, still start."""
    import logging
    import os
    import sys

    from imgproxy_py.config import read_config
    from imgproxy_py.server.composition import build_services

    monkeypatch.setattr(os, "environ", dict(os.environ))  # the DD_* ddtrace would be given stay here
    for name in [m for m in sys.modules if m == "ddtrace" or m.startswith("ddtrace.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "ddtrace", None)  # as if the extra were not installed
    config, problems = read_config({"IMGPROXY_DATADOG_ENABLE": "true"})
    assert problems == []
    with caplog.at_level(logging.WARNING, logger="imgproxy_py"):
        services = build_services(config)
    assert services.metrics is not None and services.metrics.datadog_apm is None
    assert any("need the datadog extra" in record.getMessage() for record in caplog.records)
