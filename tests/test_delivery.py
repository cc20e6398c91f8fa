"""ETags and 304s, caches, fallback images, presets, raw, encrypted sources, metrics."""

from __future__ import annotations

import base64
import concurrent.futures
import socket
import time
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from imgproxy_py.config import read_config
from imgproxy_py.security.encryption import encrypt_source_url
from tests.cluster_nodes import Node, wait_for
from tests.conftest import asset, decode
from tests.ports import free_port
from tests.servers import AppServer, Origin, OriginResponse

HOPPER = asset("hopper.jpg").read_bytes()


def etag_route(body: bytes, etag: str, extra: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """An origin that answers 304 when the client's If-None-Match matches its ETag."""

    def route(handler: BaseHTTPRequestHandler) -> OriginResponse:
        headers = {"ETag": etag, **(extra or {})}
        if handler.headers.get("If-None-Match") == etag:
            return OriginResponse(304, b"", headers)
        return OriginResponse(200, body, headers)

    return route


@pytest.fixture(scope="module")
def etag_server(start_server) -> AppServer:  # type: ignore[no-untyped-def]
    return start_server(IMGPROXY_USE_ETAG="true", IMGPROXY_USE_LAST_MODIFIED="true")


def test_origin_etag_revalidation_skips_download_and_processing(
        client: httpx.Client, etag_server: AppServer, origin: Origin) -> None:
    origin.routes["/delivery/etag.jpg"] = etag_route(HOPPER, '"v1"')
    url = f"{etag_server.base}/unsafe/rs:fit:50:50/plain/{origin.url('/delivery/etag.jpg')}"
    first = client.get(url)
    assert first.status_code == 200
    tag = first.headers["etag"]
    processed = etag_server.services.images_processed
    requests_before = origin.count("/delivery/etag.jpg")
    second = client.get(url, headers={"If-None-Match": tag})
    assert second.status_code == 304 and second.content == b""
    assert second.headers["etag"] == tag
    assert etag_server.services.images_processed == processed  # nothing processed
    # The origin was asked once more, conditionally, and answered 304 (no body sent).
    assert origin.count("/delivery/etag.jpg") == requests_before + 1
    assert origin.requests[-1][1].get("If-None-Match") == '"v1"'
    # Other options: another tag, a full response.
    other = client.get(url.replace("50:50", "60:60"), headers={"If-None-Match": tag})
    assert other.status_code == 200 and other.headers["etag"] != tag


def test_changed_origin_etag_gives_a_new_image(client: httpx.Client, etag_server: AppServer,
                                               origin: Origin) -> None:
    origin.routes["/delivery/changing.jpg"] = etag_route(HOPPER, '"a"')
    url = f"{etag_server.base}/unsafe/rs:fit:50:50/plain/{origin.url('/delivery/changing.jpg')}"
    tag = client.get(url).headers["etag"]
    origin.routes["/delivery/changing.jpg"] = etag_route(asset("hopper.png").read_bytes(), '"b"')
    response = client.get(url, headers={"If-None-Match": tag})
    assert response.status_code == 200 and response.headers["etag"] != tag


@pytest.mark.parametrize("size", ["small", "large"])
def test_data_hash_etag_when_origin_has_none(client: httpx.Client, etag_server: AppServer,
                                             origin: Origin, big_jpeg: bytes, size: str) -> None:
    body, path = HOPPER if size == "small" else big_jpeg, f"/delivery/noetag-{size}.jpg"  # large: hashed in a thread
    url = f"{etag_server.base}/unsafe/rs:fit:40:40/plain/{origin.add(path, body)}"
    tag = client.get(url).headers["etag"]
    processed = etag_server.services.images_processed
    before = origin.count(path)
    response = client.get(url, headers={"If-None-Match": tag})
    assert response.status_code == 304 and response.headers["etag"] == tag
    assert origin.count(path) == before + 1  # downloaded to compare the hash
    assert etag_server.services.images_processed == processed  # but not processed
    origin.add(path, body[:-2] + b"\x00\xff\xd9")  # other bytes: another tag, a full answer
    changed = client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_etag_buster_changes_tags(client: httpx.Client, etag_server: AppServer, start_server) -> None:  # type: ignore[no-untyped-def]
    busted = start_server(IMGPROXY_USE_ETAG="true", IMGPROXY_ETAG_BUSTER="2")
    path = "/unsafe/rs:fit:40:40/plain/local:///core/hopper.jpg"
    assert client.get(etag_server.base + path).headers["etag"] != client.get(busted.base + path).headers["etag"]


def test_last_modified_passthrough_and_if_modified_since(client: httpx.Client, etag_server: AppServer,
                                                        origin: Origin) -> None:
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"

    def route(handler: BaseHTTPRequestHandler) -> OriginResponse:
        if handler.headers.get("If-Modified-Since") == stamp:
            return OriginResponse(304, b"", {"Last-Modified": stamp})
        return OriginResponse(200, HOPPER, {"Last-Modified": stamp})

    origin.routes["/delivery/lm.jpg"] = route
    url = f"{etag_server.base}/unsafe/rs:fit:40:40/plain/{origin.url('/delivery/lm.jpg')}"
    first = client.get(url)
    assert first.headers["last-modified"] == stamp
    processed = etag_server.services.images_processed
    second = client.get(url, headers={"If-Modified-Since": stamp})
    assert second.status_code == 304 and etag_server.services.images_processed == processed


@pytest.fixture(scope="module")
def cache_server(start_server) -> AppServer:  # type: ignore[no-untyped-def]
    return start_server(IMGPROXY_SOURCE_CACHE_SIZE_MB="16", IMGPROXY_RESULT_CACHE_SIZE_MB="16")


def test_source_cache_respects_max_age_and_no_store(client: httpx.Client, cache_server: AppServer,
                                                    origin: Origin) -> None:
    fresh = origin.add("/delivery/fresh.jpg", HOPPER, headers={"Cache-Control": "max-age=600"})
    for size in (30, 31, 32):
        assert client.get(f"{cache_server.base}/unsafe/w:{size}/plain/{fresh}").status_code == 200
    assert origin.count("/delivery/fresh.jpg") == 1
    assert cache_server.services.sources.cache.stats.hits >= 2
    private = origin.add("/delivery/nostore.jpg", HOPPER, headers={"Cache-Control": "no-store"})
    for size in (30, 31):
        client.get(f"{cache_server.base}/unsafe/w:{size}/plain/{private}")
    assert origin.count("/delivery/nostore.jpg") == 2


def test_source_cache_revalidates_stale_entries(client: httpx.Client, cache_server: AppServer,
                                                origin: Origin) -> None:
    origin.routes["/delivery/stale.jpg"] = etag_route(HOPPER, '"s1"', {"Cache-Control": "max-age=0"})
    for size in (30, 31):
        assert client.get(f"{cache_server.base}/unsafe/w:{size}/plain/{origin.url('/delivery/stale.jpg')}"
                          ).status_code == 200
    conditional = [h for p, h in origin.requests if p == "/delivery/stale.jpg"]
    assert len(conditional) == 2 and conditional[1].get("If-None-Match") == '"s1"'


def test_result_cache_and_single_flight(cache_server: AppServer, origin: Origin, big_jpeg: bytes) -> None:
    source = origin.add("/delivery/big.jpg", big_jpeg, headers={"Cache-Control": "max-age=600"})
    url = f"{cache_server.base}/unsafe/rs:fit:700:700/bl:3/plain/{source}"
    processed = cache_server.services.images_processed

    def get(_: int) -> bytes:
        with httpx.Client(timeout=60) as c:
            response = c.get(url)
            assert response.status_code == 200
            return response.content

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        bodies = list(pool.map(get, range(5)))
    assert len(set(bodies)) == 1
    assert cache_server.services.images_processed == processed + 1
    assert origin.count("/delivery/big.jpg") == 1
    get(0)
    assert cache_server.services.images_processed == processed + 1
    assert cache_server.services.results.stats.hits >= 1


def test_fallback_image(client: httpx.Client, start_server, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    fallback = start_server(IMGPROXY_FALLBACK_IMAGE_PATH=str(asset("hopper.png")),
                            IMGPROXY_FALLBACK_IMAGE_TTL="60")
    missing = origin.url("/delivery/missing.jpg")
    response = client.get(f"{fallback.base}/unsafe/rs:fill:40:30/plain/{missing}@png")
    assert response.status_code == 200
    img = decode(response.content)
    assert (img.width, img.height) == (40, 30)
    assert response.headers["cache-control"] == "max-age=60, public"
    original_code = start_server(IMGPROXY_FALLBACK_IMAGE_DATA=base64.b64encode(HOPPER).decode(),
                                 IMGPROXY_FALLBACK_IMAGE_HTTP_CODE="0")
    response = client.get(f"{original_code.base}/unsafe/w:20/plain/{missing}")
    assert response.status_code == 404 and decode(response.content).width == 20
    assert response.headers["cache-control"] == "no-cache"  # an error status, and no fallback TTL



def test_fallback_image_url_is_fetched_once_at_start(client: httpx.Client, start_server,  # type: ignore[no-untyped-def]
                                                      origin: Origin) -> None:
    url = origin.add("/delivery/fallback-setting.png", asset("hopper.png").read_bytes())
    before = len([p for p, _ in origin.requests if p == "/delivery/fallback-setting.png"])
    server = start_server(IMGPROXY_FALLBACK_IMAGE_URL=url)
    missing = origin.url("/delivery/also-missing.jpg")
    for _ in range(2):
        response = client.get(f"{server.base}/unsafe/rs:fill:30:20/plain/{missing}@png")
        img = decode(response.content)
        assert response.status_code == 200 and (img.width, img.height) == (30, 20)
    assert len([p for p, _ in origin.requests if p == "/delivery/fallback-setting.png"]) == before + 1


def test_unreachable_fallback_image_url_is_a_config_problem(origin: Origin) -> None:
    from imgproxy_py.config import load_config
    from imgproxy_py.errors import ConfigError
    from imgproxy_py.server.composition import build_services

    env = {"IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES": "true",
           "IMGPROXY_FALLBACK_IMAGE_URL": origin.url("/delivery/no-such-fallback.png")}
    with pytest.raises(ConfigError) as caught:
        build_services(load_config(env))
    assert any(p.startswith("IMGPROXY_FALLBACK_IMAGE_URL") for p in caught.value.problems)


def test_per_request_fallback_url(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    backup = origin.add("/delivery/backup.jpg", HOPPER)
    fiu = base64.urlsafe_b64encode(backup.encode()).decode().rstrip("=")
    missing = origin.url("/delivery/gone.jpg")
    response = client.get(f"{server.base}/unsafe/w:25/fiu:{fiu}/plain/{missing}")
    assert response.status_code == 200 and decode(response.content).width == 25


def test_raw_and_skip_processing_stream_the_source(client: httpx.Client, server: AppServer) -> None:
    raw = client.get(f"{server.base}/unsafe/raw:1/w:10/plain/local:///core/hopper.jpg@png")
    assert raw.content == HOPPER and raw.headers["content-type"] == "image/jpeg"
    skipped = client.get(f"{server.base}/unsafe/skp:jpg/w:10/plain/local:///core/hopper.jpg")
    assert skipped.content == HOPPER
    processed = client.get(f"{server.base}/unsafe/skp:png/w:10/plain/local:///core/hopper.jpg")
    assert decode(processed.content).width == 10


def test_encrypted_source_url(client: httpx.Client, start_server, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    key = "1eb5b0e971ad7f45324c1bb15c947cb207c43152fa5c6c7f35c4f36e0c18e0f1"
    enc = start_server(IMGPROXY_SOURCE_URL_ENCRYPTION_KEY=key)
    source = origin.add("/delivery/secret.jpg", HOPPER)
    token = encrypt_source_url(source, bytes.fromhex(key))
    response = client.get(f"{enc.base}/unsafe/w:30/enc/{token}.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert decode(response.content).width == 30
    assert client.get(f"{enc.base}/unsafe/w:30/enc/{token[:-4]}AAAA").status_code == 404


def test_presets_file_and_only_presets(client: httpx.Client, start_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    presets = tmp_path / "presets.conf"
    presets.write_text("# thumbnails\nsmall=rs:fill:32:24\nwide=rs:fill:64:16/f:png\n")
    server = start_server(IMGPROXY_PRESETS_PATH=str(presets))
    img = decode(client.get(f"{server.base}/unsafe/pr:small/plain/local:///core/hopper.jpg").content)
    assert (img.width, img.height) == (32, 24)
    only = start_server(IMGPROXY_PRESETS_PATH=str(presets), IMGPROXY_ONLY_PRESETS="true")
    response = client.get(f"{only.base}/unsafe/small:wide/plain/local:///core/hopper.jpg")
    assert response.headers["content-type"] == "image/png"
    assert (decode(response.content).width, decode(response.content).height) == (64, 16)
    assert client.get(f"{only.base}/unsafe/nope/plain/local:///core/hopper.jpg").status_code == 404




def test_prometheus_metrics(client: httpx.Client, start_server) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    server = start_server(IMGPROXY_PROMETHEUS_BIND=f"127.0.0.1:{port}")
    client.get(f"{server.base}/unsafe/w:20/plain/local:///core/hopper.jpg")
    client.get(f"{server.base}/unsafe/bogus:1/plain/local:///core/hopper.jpg")
    client.get(f"{server.base}/unsafe/w:20/plain/local:///core/missing.jpg")
    # A request is counted once its handler returns, which can be just after its client has the answer.
    wait_for(lambda: "\nrequests_total 3.0" in client.get(f"http://127.0.0.1:{port}/metrics").text, timeout=10)
    text = client.get(f"http://127.0.0.1:{port}/metrics").text
    # imgproxy's names, labels, error categories and span names, so its dashboards keep working.
    assert 'status_codes_total{status="404"} 2.0' in text
    assert 'errors_total{type="path_parsing"} 1.0' in text
    assert 'errors_total{type="download"} 1.0' in text
    for span in ("queue", "downloading_image", "processing_image", "streaming_image"):
        assert f'request_span_duration_seconds_count{{span="{span}"}}' in text
    # The Go client's default buckets, as imgproxy's histograms have: no 0.075, 0.75 or 7.5.
    buckets = {line.split('le="')[1].split('"')[0] for line in text.splitlines()
               if line.startswith("request_duration_seconds_bucket")}
    assert buckets == {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"}
    gauges = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
              if line and not line.startswith("#") and "{" not in line}
    assert gauges["workers"] == 2.0
    for name in ("requests_in_progress", "images_in_progress", "workers_utilization", "vips_memory_bytes",
                 "vips_max_memory_bytes", "vips_allocs", "process_resident_memory_bytes",
                 "imgproxy_py_source_cache_hit_rate", "imgproxy_py_result_cache_hit_rate"):
        assert name in gauges, name
    assert gauges["vips_max_memory_bytes"] > 0  # libvips' own accounting is read, not a constant
    assert "\nsource_cache_hit_rate" not in text  # our extras never take a name imgproxy could use


def test_prometheus_namespace_prefixes_every_metric(client: httpx.Client, start_server) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    server = start_server(IMGPROXY_PROMETHEUS_BIND=f"127.0.0.1:{port}", IMGPROXY_PROMETHEUS_NAMESPACE="img")
    client.get(f"{server.base}/unsafe/w:20/plain/local:///core/hopper.jpg")
    names = {line.split("{")[0].split(" ")[0] for line in client.get(f"http://127.0.0.1:{port}/metrics").text
             .splitlines() if line and not line.startswith("#")}
    assert {"img_requests_total", "img_workers", "img_imgproxy_py_source_cache_hit_rate"} <= names
    assert all(name.startswith("img_") for name in names)


def _statsd_lines(port_holder: socket.socket, wanted: set[str], tags: tuple[str, ...] = ()) -> list[str]:
    """DogStatsD lines until every name in ``wanted`` and every tag in ``tags`` has come (5 s at most)."""
    lines: list[str] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            lines += port_holder.recv(65535).decode().splitlines()
        except TimeoutError:
            pass
        if wanted <= {line.split(":", 1)[0] for line in lines} and all(
                any(tag in line for line in lines) for tag in tags):
            break
    return lines


def datadog_node(env: dict[str, str]) -> Node:
    """A server process with IMGPROXY_DATADOG_ENABLE: its APM tracer (ddtrace) takes its settings
    from the process environment, so it runs apart from the test process; its traces go nowhere."""
    node = Node({"IMGPROXY_DATADOG_ENABLE": "true", "DD_AGENT_HOST": "127.0.0.1", "DD_TRACE_ENABLED": "false",
                 "IMGPROXY_METRICS_INTERVAL": "0.1", **env})
    node.wait_ready()
    return node


def test_datadog_metrics_over_udp(client: httpx.Client) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    server = datadog_node({"IMGPROXY_DATADOG_ENABLE_ADDITIONAL_METRICS": "true", "DD_DOGSTATSD_PORT": str(port),
                           "DD_SERVICE": "imgtest"})
    gauge_names = {"imgproxy.workers", "imgproxy.requests_in_progress", "imgproxy.images_in_progress",
                   "imgproxy.workers_utilization", "imgproxy.vips.memory", "imgproxy.vips.max_memory",
                   "imgproxy.vips.allocs", "imgproxy_py.source_cache_hit_rate"}
    try:
        client.get(f"{server.base}/unsafe/w:20/plain/local:///core/hopper.jpg")
        lines = _statsd_lines(listener, gauge_names | {"imgproxy_py.requests", "imgproxy_py.request.span.duration"},
                              tags=("span:processing_image", "span:downloading_image"))
    finally:
        server.stop()
        listener.close()
    parsed = [line.split("|") for line in lines]
    requests = [p for p in parsed if p[0].startswith("imgproxy_py.requests:")]
    assert requests and requests[0][1] == "c" and "status:200" in requests[0][2]
    assert "service:imgtest" in requests[0][2]
    spans = {p[2] for p in parsed if p[0].startswith("imgproxy_py.request.span.duration:")}
    assert any("span:processing_image" in s for s in spans) and any("span:downloading_image" in s for s in spans)
    gauges = {p[0].split(":")[0]: p[1] for p in parsed if p[1] == "g"}
    assert gauge_names <= set(gauges)  # imgproxy's DataDog gauges under its names; ours under imgproxy_py.


def test_datadog_sends_imgproxys_gauges_only_when_asked(client: httpx.Client) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    server = datadog_node({"DD_DOGSTATSD_PORT": str(listener.getsockname()[1])})
    try:
        client.get(f"{server.base}/unsafe/w:20/plain/local:///core/hopper.jpg")
        names = {line.split(":", 1)[0] for line in _statsd_lines(listener, {"imgproxy_py.source_cache_hit_rate"})}
    finally:
        server.stop()
        listener.close()
    assert "imgproxy_py.source_cache_hit_rate" in names
    assert not {n for n in names if n.startswith("imgproxy.")}  # IMGPROXY_DATADOG_ENABLE_ADDITIONAL_METRICS is off


def test_local_files_revalidate_with_a_stat(client: httpx.Client, etag_server: AppServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"{etag_server.base}/unsafe/rs:fit:40:40/plain/local:///core/hopper.jpg"
    tag = client.get(url).headers["etag"]
    assert ".R" in tag  # the file's mtime and size, not a hash of its bytes
    processed = etag_server.services.images_processed
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and etag_server.services.images_processed == processed


def test_last_modified_buster(client: httpx.Client, start_server, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    """IMGPROXY_LAST_MODIFIED_BUSTER: no Last-Modified before it, and a client's copy dated
    before it is stale even when the source is older."""
    url = origin.add("/delivery/lm-buster.jpg", HOPPER, headers={"Last-Modified": "Wed, 01 Jan 2020 00:00:00 GMT"})
    target = f"/unsafe/w:30/plain/{url}"
    plain = start_server(IMGPROXY_USE_LAST_MODIFIED="true")
    busted = start_server(IMGPROXY_USE_LAST_MODIFIED="true", IMGPROXY_LAST_MODIFIED_BUSTER="2024-06-01T00:00:00Z")
    assert client.get(plain.base + target).headers["last-modified"] == "Wed, 01 Jan 2020 00:00:00 GMT"
    assert client.get(busted.base + target).headers["last-modified"] == "Sat, 01 Jun 2024 00:00:00 GMT"
    before = {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}
    assert client.get(plain.base + target, headers=before).status_code == 304
    again = client.get(busted.base + target, headers=before)
    assert again.status_code == 200 and again.content
    after = {"If-Modified-Since": "Mon, 01 Jul 2024 00:00:00 GMT"}
    assert client.get(busted.base + target, headers=after).status_code == 304
    _, problems = read_config({"IMGPROXY_LAST_MODIFIED_BUSTER": "yesterday"})
    assert any("IMGPROXY_LAST_MODIFIED_BUSTER" in p for p in problems)


def test_fallback_images_are_cached_and_preprocessed(client: httpx.Client, start_server,  # type: ignore[no-untyped-def]
                                                     origin: Origin) -> None:
    """IMGPROXY_FALLBACK_IMAGES_CACHE_SIZE (256; 0: none) and IMGPROXY_FALLBACK_IMAGE_PREPROCESS_URL."""
    path = "/delivery/cached-backup.jpg"
    backup = origin.add(path, HOPPER)
    fiu = base64.urlsafe_b64encode(backup.encode()).decode().rstrip("=")
    cached, uncached = start_server(), start_server(IMGPROXY_FALLBACK_IMAGES_CACHE_SIZE="0")
    for server, downloads in ((cached, 1), (uncached, 3)):
        before = origin.count(path)
        for n in range(3):
            response = client.get(f"{server.base}/unsafe/w:{20 + n}/fiu:{fiu}/plain/{origin.url('/delivery/gone.jpg')}")
            assert response.status_code == 200 and decode(response.content).width == 20 + n
        assert origin.count(path) - before == downloads
    base = origin.url("/delivery/")
    relative = base64.urlsafe_b64encode(b"cached-backup.jpg").decode().rstrip("=")
    plain = start_server(IMGPROXY_BASE_URL=base)
    preprocessing = start_server(IMGPROXY_BASE_URL=base, IMGPROXY_FALLBACK_IMAGE_PREPROCESS_URL="true")
    target = f"/unsafe/w:20/fiu:{relative}/plain/gone.jpg"
    assert client.get(plain.base + target).status_code == 404  # "cached-backup.jpg" alone is no URL
    assert client.get(preprocessing.base + target).status_code == 200
