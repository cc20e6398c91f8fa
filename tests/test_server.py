"""Server behaviour: landing page, client hints, graceful stop, CLI start-up errors."""

from __future__ import annotations

import gc
import logging
import re
import subprocess
import sys
import threading
import time

import httpx
import pytest

from imgproxy_py.config import load_config
from imgproxy_py.server.app import SilentPaths, client_address, go_duration, request_id_of
from tests.conftest import asset, decode
from tests.servers import ASSETS, AppServer, Origin


def test_landing_page_shows_examples(client: httpx.Client, start_server) -> None:  # type: ignore[no-untyped-def]
    demo = start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(ASSETS.parent.parent / "imgproxy_py" / "demo"))
    page = client.get(demo.base + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    sources = [part.split('"')[0] for part in page.text.split('<img src="')[1:]]
    assert len(sources) >= 5
    for src in sources:  # every example on the page renders
        response = client.get(demo.base + src.replace("&amp;", "&"))
        assert response.status_code == 200, src
        assert response.headers["content-type"].startswith("image/")


def test_client_hints(client: httpx.Client, start_server) -> None:  # type: ignore[no-untyped-def]
    hinted = start_server(IMGPROXY_ENABLE_CLIENT_HINTS="true")
    url = f"{hinted.base}/unsafe/plain/local:///core/hopper.jpg"
    response = client.get(url, headers={"Sec-CH-DPR": "2", "Sec-CH-Width": "100"})
    assert decode(response.content).width == 100  # width 50 at DPR 2
    assert response.headers["vary"] == "Sec-Ch-Dpr, Dpr, Sec-Ch-Width, Width"  # imgproxy's spelling


def test_graceful_stop_finishes_in_flight_requests(start_server, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    server: AppServer = start_server()
    slow = origin.add("/server/slow.jpg", asset("hopper.jpg").read_bytes(), delay=1.0)
    result: dict[str, int] = {}

    def request() -> None:
        with httpx.Client(timeout=30) as c:
            result["status"] = c.get(f"{server.base}/unsafe/w:20/plain/{slow}").status_code

    thread = threading.Thread(target=request)
    thread.start()
    time.sleep(0.3)
    server.server.should_exit = True  # what SIGTERM does
    thread.join(timeout=20)
    assert result.get("status") == 200
    server.thread.join(timeout=20)
    assert not server.thread.is_alive()


def test_startup_objects_are_kept_out_of_garbage_collections(start_server) -> None:  # type: ignore[no-untyped-def]
    server: AppServer = start_server()
    # Everything start-up made (the libraries, registries and this test process) is frozen.
    assert gc.get_freeze_count() > 50_000
    server.close()
    assert gc.get_freeze_count() == 0  # handed back to the collector when the server stops


def test_serve_reports_every_config_error_and_exits() -> None:
    env = {"IMGPROXY_QUALITY": "abc", "IMGPROXY_WORKERS": "0", "IMGPROXY_PRESETS": "bad=w:x", "PATH": ""}
    run = subprocess.run([sys.executable, "-m", "imgproxy_py", "serve"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1
    assert "IMGPROXY_QUALITY" in run.stderr and "IMGPROXY_WORKERS" in run.stderr
    assert "preset 'bad'" in run.stderr  # reported together with the variables


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, "10.0.0.9"),
    ({b"x-real-ip": b" 17.18.19.20 "}, "17.18.19.20"),
    ({b"x-real-ip": b"17.18.19.20", b"x-forwarded-for": b"5.6.7.8, 9.10.11.12"}, "5.6.7.8"),
    ({b"x-forwarded-for": b"5.6.7.8", b"cf-connecting-ip": b"1.2.3.4"}, "1.2.3.4"),
    ({b"x-forwarded-for": b""}, "10.0.0.9"),
])
def test_logged_client_follows_imgproxys_header_order(headers: dict[bytes, bytes], expected: str) -> None:
    assert client_address(headers, ("10.0.0.9", 50000)) == expected


def test_logged_client_without_peer_or_headers_is_empty() -> None:
    assert client_address({}, None) == ""


@pytest.mark.parametrize(("headers", "expected"), [
    ({b"x-request-id": b"abc_DEF-123"}, "abc_DEF-123"),
    ({b"x-request-id": b"abc_DEF-123", b"x-amzn-request-context": b'{"requestId": "lambda-1"}'}, "abc_DEF-123"),
    ({b"x-request-id": b"bad id\r\nx: y", b"x-amzn-request-context": b'{"requestId": "lambda-1"}'}, "lambda-1"),
    ({b"x-amzn-request-context": b'{"requestId": "lambda-1"}'}, "lambda-1"),
])
def test_request_id_is_the_clients_or_lambdas_when_valid(headers: dict[bytes, bytes], expected: str) -> None:
    assert request_id_of(headers) == expected


@pytest.mark.parametrize("headers", [
    {},
    {b"x-request-id": b"with spaces"},
    {b"x-request-id": b"x" * 257},
    {b"x-amzn-request-context": b"not json"},
    {b"x-amzn-request-context": b'["requestId"]'},
    {b"x-amzn-request-context": b'{"requestId": 42}'},
    {b"x-amzn-request-context": b'{"requestId": "bad id"}'},
    {b"x-amzn-request-context": b"[" * 20_000},  # Go's decoder refuses past 10,000 levels; Python's stack ends sooner
    {b"x-amzn-request-context": b'{"requestId": ' * 5_000},
])
def test_request_id_is_made_when_none_is_valid(headers: dict[bytes, bytes]) -> None:
    made = request_id_of(headers)
    assert re.fullmatch(r"[0-9a-f]{20}", made)
    assert made != request_id_of(headers)


def test_a_deeply_nested_lambda_context_is_ignored(start_server, client: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    # It answered a 500 on every route, /health too.
    response = client.get(start_server().base + "/health", headers={"X-Amzn-Request-Context": "[" * 8_000})
    assert response.status_code == 200 and re.fullmatch(r"[0-9a-f]{20}", response.headers["x-request-id"])


@pytest.mark.parametrize("path", ["/favicon.ico", "/.well-known/appspecific/com.chrome.devtools.json",
                                  "/api/favicon.ico", "/api/.well-known/security.txt"])
def test_browser_probes_are_imgproxys_quiet_404(start_server, client: httpx.Client,  # type: ignore[no-untyped-def]
                                                caplog: pytest.LogCaptureFixture, path: str) -> None:
    """What browsers and their tools ask for is a 404 of one space, before the secret is checked,
    and not logged, as imgproxy's router answers it; an image request still is logged."""
    caplog.set_level(logging.INFO, logger="imgproxy_py.server")
    server = start_server(IMGPROXY_SECRET="s3cret", IMGPROXY_PATH_PREFIX="/api")
    response = client.get(server.base + path)
    assert (response.status_code, response.text) == (404, " ")
    assert client.get(server.base + "/api/health").status_code == 200
    image = client.get(server.base + "/api/unsafe/w:10/plain/local:///core/hopper.jpg")
    assert image.status_code == 403  # no secret given
    deadline = time.monotonic() + 5
    logged: list[str] = []
    while "/api/unsafe/w:10/plain/local:///core/hopper.jpg" not in logged and time.monotonic() < deadline:
        logged = [r.getMessage().split(" ", 1)[1] for r in caplog.records if r.getMessage().startswith("Started ")]
        logged += [str(getattr(r, "path", "")) for r in caplog.records if r.getMessage().startswith("Completed in ")]
        time.sleep(0.01)
    assert "/api/unsafe/w:10/plain/local:///core/hopper.jpg" in logged
    assert path not in logged and "/api/health" not in logged


def test_silent_paths_are_imgproxys() -> None:
    silent = SilentPaths(load_config({"IMGPROXY_HEALTH_CHECK_PATH": "/healthz", "IMGPROXY_PATH_PREFIX": "/p"}))
    for path in ("/health", "/healthz", "/p/health", "/p/healthz", "/favicon.ico", "/.well-known/x", "/p/.well-known/"):
        assert path in silent, path
    for path in ("/unsafe/plain/local:///a.jpg", "/p/info/x", "/.well-knownx", "/healthzz", None):
        assert path not in silent, path


def test_request_is_logged_as_imgproxy_logs_it(start_server, client: httpx.Client,  # type: ignore[no-untyped-def]
                                               caplog: pytest.LogCaptureFixture) -> None:
    """"Started /path", then "Completed in <Go duration> /path" at a level by status (4xx a
    warning), with imgproxy's fields (the source URL and the options for an image request)."""
    caplog.set_level(logging.INFO, logger="imgproxy_py.server")
    server = start_server()
    path = "/unsafe/w:10/plain/local:///core/missing.jpg"
    assert client.get(server.base + path, headers={"X-Request-ID": "log-test-1"}).status_code == 404
    deadline = time.monotonic() + 5
    mine: list[logging.LogRecord] = []
    while len(mine) < 2 and time.monotonic() < deadline:
        mine = [r for r in caplog.records if getattr(r, "request_id", "") == "log-test-1" and
                r.getMessage().startswith(("Started ", "Completed in "))]
        time.sleep(0.01)
    started, completed = mine
    assert started.getMessage() == f"Started {path}" and started.levelno == logging.INFO
    assert re.fullmatch(rf"Completed in [0-9.]+(ms|µs|s) {re.escape(path)}", completed.getMessage())
    assert completed.levelno == logging.WARNING
    assert (completed.__dict__["method"], completed.__dict__["status"]) == ("GET", 404)
    assert completed.__dict__["client_ip"] == "127.0.0.1"
    assert completed.__dict__["error"].startswith("SourceNotFoundError: local file not found")
    assert completed.__dict__["image_url"] == "local:///core/missing.jpg"
    assert completed.__dict__["processing_options"].endswith("width:10")  # the canonical form


@pytest.mark.parametrize(("seconds", "written"), [(0.0000005, "500ns"), (0.00085, "850µs"), (0.0123, "12.3ms"),
                                                  (1.5, "1.5s"), (0.25, "250ms")])
def test_durations_are_written_as_go_writes_them(seconds: float, written: str) -> None:
    assert go_duration(seconds) == written
