"""New Relic APM (IMGPROXY_NEW_RELIC_KEY, the newrelic extra): New Relic's real agent in a real
server process, reporting over HTTPS to a collector on loopback that speaks the agent's protocol
(preconnect, connect, then the harvests: JSON, compressed when large)."""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from imgproxy_py.config import read_config
from tests.cluster_nodes import served_then_stopped
from tests.otlp_receiver import self_signed_certificate
from tests.ports import free_port
from tests.servers import ASSETS, Origin

LICENSE_KEY = "0123456789abcdef0123456789abcdef01234567"  # the agent checks only its length
TRACE_ID, PARENT_SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
CALLER = {"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01"}
RUN_ID = "run-1"


class Collector:
    """New Relic's collector on loopback: answers the agent's handshake and keeps each call's
    method and decoded payload."""

    def __init__(self, folder: Path) -> None:
        certificate, key = self_signed_certificate()
        self.ca_bundle = folder / "collector.pem"
        self.ca_bundle.write_text(certificate)
        (folder / "collector.key").write_text(key)
        self.calls: list[tuple[str, Any]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                method = parse_qs(urlparse(self.path).query).get("method", [""])[0]
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "identity")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                collector.calls.append((method, json.loads(body) if body else None))
                reply: dict[str, Any] = {}
                if method == "preconnect":
                    reply = {"redirect_host": "127.0.0.1"}
                elif method == "connect":
                    reply = {"agent_run_id": RUN_ID, "data_report_period": 60, "account_id": "1",
                             "primary_application_id": "2", "trusted_account_key": "1",
                             "sampling_target": 10, "sampling_target_period_in_seconds": 60}
                answer = json.dumps({"return_value": reply}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_bundle, folder / "collector.key")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def env(self, **extra: str) -> dict[str, str]:
        return {"IMGPROXY_NEW_RELIC_KEY": LICENSE_KEY, "NEW_RELIC_HOST": "127.0.0.1",
                "NEW_RELIC_PORT": str(self.port), "NEW_RELIC_CA_BUNDLE_PATH": str(self.ca_bundle),
                "NEW_RELIC_STARTUP_TIMEOUT": "20", "IMGPROXY_METRICS_INTERVAL": "0.2", **extra}

    def payloads(self, method: str) -> list[Any]:
        return [payload for name, payload in self.calls if name == method]

    def events(self, method: str) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        """The (intrinsics, user attributes, agent attributes) of each event of ``method``'s harvests."""
        return [(event[0], event[1], event[2]) for payload in self.payloads(method) for event in payload[2]]

    def metrics(self) -> dict[tuple[str, str], list[float]]:
        """Each metric (name, scope) summed over the harvests: [count, total, exclusive, min, max, sum of squares]."""
        summed: dict[tuple[str, str], list[float]] = {}
        for payload in self.payloads("metric_data"):
            for spec, values in payload[3]:
                key = (spec["name"], spec.get("scope", ""))
                if key in summed:
                    summed[key] = [summed[key][0] + values[0], summed[key][1] + values[1], *summed[key][2:4],
                                   max(summed[key][4], values[4]), summed[key][5]]
                else:
                    summed[key] = list(values)
        return summed

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def collector(tmp_path: Path) -> Iterator[Collector]:
    running = Collector(tmp_path)
    yield running
    running.close()


def test_requests_are_transactions_in_the_callers_trace(collector: Collector) -> None:
    origin = Origin()
    origin.add("/hopper.jpg", (ASSETS / "core" / "hopper.jpg").read_bytes())
    try:
        served_then_stopped(collector.env(IMGPROXY_NEW_RELIC_APP_NAME="images",
                                          IMGPROXY_NEW_RELIC_LABELS="env=test;team=media",
                                          IMGPROXY_NEW_RELIC_PROPAGATE_EXTERNAL="true"), [
            (f"/unsafe/rs:fit:32:32/plain/{origin.url('/hopper.jpg')}", CALLER, 200),
            ("/unsafe/rs:fit:32:32/plain/local:///core/missing.jpg", {}, 404),
        ])
        sent = [headers for path, headers in origin.requests if path == "/hopper.jpg"]
    finally:
        origin.close()
    (connect,) = collector.payloads("connect")
    assert connect[0]["app_name"] == ["images"]
    assert {"label_type": "env", "label_value": "test"} in connect[0]["labels"]
    assert {"label_type": "team", "label_value": "media"} in connect[0]["labels"]
    assert collector.payloads("shutdown") == [[RUN_ID]]

    transactions = [event for event in collector.events("analytic_event_data") if event[0]["type"] == "Transaction"]
    assert {event[0]["name"] for event in transactions} == {"WebTransaction/Go/request"}
    (traced,) = [event for event in transactions if event[2]["response.status"] == "200"]
    # In the caller's trace, as its child.
    assert traced[0]["traceId"] == TRACE_ID and traced[0]["parentSpanId"] == PARENT_SPAN
    assert traced[2]["request.method"] == "GET"
    (failed,) = [event for event in transactions if event[2]["response.status"] == "404"]
    assert failed[0]["error"] is True and failed[0]["traceId"] != TRACE_ID

    # imgproxy's segments, within the transaction.
    metrics = collector.metrics()
    for segment in ("queue", "downloading_image", "processing_image", "streaming_image"):
        assert (f"Custom/{segment}", "WebTransaction/Go/request") in metrics, segment
    # The failed request's error, with imgproxy's category.
    (error,) = collector.events("error_event_data")
    assert error[0]["transactionName"] == "WebTransaction/Go/request"
    assert error[0]["error.class"].endswith("SourceNotFoundError") and error[1]["error.type"] == "download"
    # imgproxy's gauges, and the agent's CPU and memory samplers.
    workers = metrics[("Custom/imgproxy/workers", "")]
    assert workers[0] >= 1 and workers[3] == workers[4] == 2.0  # IMGPROXY_WORKERS, every reading
    for gauge in ("requests_in_progress", "images_in_progress", "workers_utilization", "vips/memory",
                  "vips/max_memory", "vips/allocs"):
        assert (f"Custom/imgproxy/{gauge}", "") in metrics, gauge
    assert ("Memory/Physical", "") in metrics and ("CPU/User Time", "") in metrics

    # IMGPROXY_NEW_RELIC_PROPAGATE_EXTERNAL: the source download carried the trace.
    headers = {name.lower(): value for name, value in sent[-1].items()}
    assert headers["traceparent"].split("-")[1] == TRACE_ID and "@nr=" in headers["tracestate"]


def test_downloads_carry_no_trace_unless_asked(collector: Collector) -> None:
    origin = Origin()
    origin.add("/hopper.jpg", (ASSETS / "core" / "hopper.jpg").read_bytes())
    try:
        served_then_stopped(collector.env(),
                            [(f"/unsafe/rs:fit:32:32/plain/{origin.url('/hopper.jpg')}", CALLER, 200)])
        sent = [headers for path, headers in origin.requests if path == "/hopper.jpg"]
    finally:
        origin.close()
    assert sent and not {"traceparent", "tracestate", "newrelic"} & {name.lower() for name in sent[-1]}
    (connect,) = collector.payloads("connect")
    assert connect[0]["app_name"] == ["imgproxy"]  # imgproxy's default application name
    assert any(event[0]["traceId"] == TRACE_ID for event in collector.events("analytic_event_data"))


def test_an_unreachable_collector_never_hurts_requests() -> None:
    """The agent connects in the background (NEW_RELIC_STARTUP_TIMEOUT 0, the default): with no
    collector to reach, requests are answered as without it, and shutdown does not hang."""
    closed = free_port()
    started = time.monotonic()
    served_then_stopped({"IMGPROXY_NEW_RELIC_KEY": LICENSE_KEY, "NEW_RELIC_HOST": "127.0.0.1",
                         "NEW_RELIC_PORT": str(closed)}, [
        ("/unsafe/rs:fit:32:32/plain/local:///core/hopper.jpg", CALLER, 200),
        ("/unsafe/rs:fit:32:32/plain/local:///core/missing.jpg", {}, 404),
    ])
    assert time.monotonic() - started < 25


@pytest.mark.parametrize(("env", "problem"), [
    ({"IMGPROXY_NEW_RELIC_LABELS": "env=prod;team"}, "IMGPROXY_NEW_RELIC_LABELS"),
    ({"IMGPROXY_NEW_RELIC_APP_NAME": " "}, "IMGPROXY_NEW_RELIC_APP_NAME"),
    ({"NEW_RELIC_PORT": "70000"}, "NEW_RELIC_PORT"),
])
def test_bad_settings_stop_start_up(env: dict[str, str], problem: str) -> None:
    _, problems = read_config({"IMGPROXY_NEW_RELIC_KEY": LICENSE_KEY, **env})
    assert any(p.startswith(problem) for p in problems), problems


def test_labels_are_imgproxys_key_value_pairs() -> None:
    config, problems = read_config({"IMGPROXY_NEW_RELIC_KEY": LICENSE_KEY,
                                    "IMGPROXY_NEW_RELIC_LABELS": " env = prod ;; team=media; url=a=b;"})
    assert problems == []
    assert config.metrics.new_relic_labels == (("env", "prod"), ("team", "media"), ("url", "a=b"))
    assert config.metrics.new_relic_app_name == "imgproxy"


def test_without_the_extra_start_up_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from imgproxy_py.errors import ConfigError
    from imgproxy_py.server.composition import build_services

    monkeypatch.setitem(sys.modules, "newrelic", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "newrelic.agent", None)
    config, problems = read_config({"IMGPROXY_NEW_RELIC_KEY": LICENSE_KEY})
    assert problems == []
    with pytest.raises(ConfigError, match="newrelic"):
        build_services(config)
