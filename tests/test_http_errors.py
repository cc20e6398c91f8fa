"""Every error status through the real server, and hostile inputs."""

from __future__ import annotations

import concurrent.futures
import http.client
import os
import time

import httpx
import pytest
import pyvips

from imgproxy_py.security.signature import sign_path
from tests.conftest import asset, decode
from tests.servers import AppServer, Origin

KEY, SALT = "736563726574", "68656C6C6F"


@pytest.fixture(scope="module")
def signed_server(start_server) -> AppServer:  # type: ignore[no-untyped-def]
    return start_server(IMGPROXY_KEY=KEY, IMGPROXY_SALT=SALT)


def signed(server: AppServer, path: str) -> str:
    return server.base + "/" + sign_path(bytes.fromhex(KEY), bytes.fromhex(SALT), path) + path


def test_signature_required_when_key_is_set(client: httpx.Client, signed_server: AppServer) -> None:
    path = "/rs:fit:20:20/plain/local:///core/hopper.jpg"
    assert client.get(signed(signed_server, path)).status_code == 200
    bad = client.get(signed_server.base + "/unsafe" + path)
    assert bad.status_code == 403 and "signature" in bad.text.lower()
    tampered = signed(signed_server, path).replace("20:20", "21:21")
    assert client.get(tampered).status_code == 403


def test_signature_over_escaped_path(client: httpx.Client, signed_server: AppServer) -> None:
    # Signatures cover the path as sent; a CDN turning ":" into "%3A" must not break them.
    path = "/rs:fit:20:20/plain/local:///core/hopper.jpg"
    url = signed(signed_server, path).replace("rs:fit:20:20", "rs%3Afit%3A20%3A20")
    assert client.get(url).status_code == 200


def test_missing_signature_segment_is_403(client: httpx.Client, server: AppServer) -> None:
    response = client.get(f"{server.base}/rs:fit:20:20/plain/local:///core/hopper.jpg")
    assert response.status_code == 403 and "missing" in response.text


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/unsafe/bogus:1/plain/local:///core/hopper.jpg", "Unknown processing option: bogus"),
        ("/unsafe/w:abc/plain/local:///core/hopper.jpg", "width"),
        ("/unsafe/fit/300/300/no/0/aHR0cDovL2EvYi5qcGc", "deprecated"),
        ("/unsafe/exp:100/plain/local:///core/hopper.jpg", "Expired"),
        ("/unsafe/rs:fit:1:1", "empty"),
    ],
)
def test_bad_urls_are_404_with_reason(client: httpx.Client, server: AppServer, path: str, fragment: str) -> None:
    response = client.get(server.base + path)
    assert response.status_code == 404
    assert response.text.startswith("Invalid URL") and fragment in response.text


@pytest.mark.parametrize("option", ["bl", "sh", "dpr", "zoom"])
def test_a_long_bad_number_is_refused_at_once(server: AppServer, option: str) -> None:
    """60,000 digits and a letter: the number syntax tried every split of the digits, and this
    URL took 76 s of a worker's CPU to refuse (a timeout of 10 s allows a slow, busy machine)."""
    response = httpx.get(f"{server.base}/unsafe/{option}:{'0' * 60_000}x/plain/local:///core/hopper.jpg", timeout=10)
    assert response.status_code == 404 and response.text.startswith("Invalid URL")


def test_long_urls_are_answered_as_short_ones(client: httpx.Client, server: AppServer,
                                              signed_server: AppServer) -> None:
    """A URL past LONG_PATH is parsed in a worker slot: its answers are those of any URL."""
    chain = "w:40/-/" * 700  # 4.9 KB of chained pipelines
    response = client.get(f"{server.base}/unsafe/{chain}w:20/plain/local:///core/hopper.jpg")
    assert response.status_code == 200 and decode(response.content).width == 20
    response = client.get(f"{server.base}/unsafe/{chain}bogus:1/plain/local:///core/hopper.jpg")
    assert response.status_code == 404 and "Unknown processing option: bogus" in response.text
    info = client.get(f"{server.base}/info/unsafe/{'iptc:0/' * 700}plain/local:///core/hopper.jpg")
    assert info.status_code == 200 and info.json()["width"] == 128
    path = f"/{chain}w:20/plain/local:///core/hopper.jpg"
    assert client.get(signed(signed_server, path)).status_code == 200
    assert client.get(signed(signed_server, path).replace("w:20", "w:21")).status_code == 403


def test_thousands_of_chained_pipelines_keep_the_process_alive(client: httpx.Client, start_server) -> None:  # type: ignore[no-untyped-def]
    """8,000 chained flips (a 72 KB URL) made a libvips graph so deep that computing it overflowed
    a thread's stack: the process died with every request it held.  It is made in memory every
    few pipelines now, and the 8,000 flips give what two do."""
    server = start_server(IMGPROXY_PROCESSES="1", IMGPROXY_TIMEOUT="60")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)  # httpx stops at 64 KB
    try:
        connection.request("GET", f"/unsafe/{'fl:1:0/-/' * 8000}w:64/plain/local:///core/hopper.jpg")
        response = connection.getresponse()
        status, body = response.status, response.read()
    finally:
        connection.close()
    assert status == 200
    # Pixel for pixel what two flips give (hopper is not symmetric), and not what one gives.
    two, one = (decode(client.get(f"{server.base}/unsafe/{'fl:1:0/-/' * n}w:64/plain/local:///core/hopper.jpg").content)
                for n in (2, 1))
    assert (decode(body) - two).abs().max() <= 2 < (decode(body) - one).abs().max()
    assert client.get(f"{server.base}/health").status_code == 200


def test_origin_statuses(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    missing = origin.url("/errors/missing.jpg")
    assert client.get(f"{server.base}/unsafe/w:10/plain/{missing}").status_code == 404
    broken = origin.add("/errors/500.jpg", b"oops", status=500)
    assert client.get(f"{server.base}/unsafe/w:10/plain/{broken}").status_code == 502
    # imgproxy passes an origin's 4xx on as it is (fetcher.newResponseStatusError)
    forbidden = origin.add("/errors/403.jpg", b"no", status=403)
    assert client.get(f"{server.base}/unsafe/w:10/plain/{forbidden}").status_code == 403
    gone = origin.add("/errors/410.jpg", b"gone", status=410)
    assert client.get(f"{server.base}/unsafe/w:10/plain/{gone}").status_code == 410
    assert client.get(f"{server.base}/unsafe/w:10/plain/local:///core/none.jpg").status_code == 404


def test_download_timeout_is_504(client: httpx.Client, start_server, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    slow_server = start_server(IMGPROXY_DOWNLOAD_TIMEOUT="0.3")
    url = origin.add("/errors/slow.jpg", asset("hopper.jpg").read_bytes(), delay=1.5)
    assert client.get(f"{slow_server.base}/unsafe/w:10/plain/{url}").status_code == 504


def test_connection_refused_is_404_unreachable(client: httpx.Client, server: AppServer) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    response = client.get(f"{server.base}/unsafe/w:10/plain/http://127.0.0.1:{port}/a.jpg")
    assert response.status_code == 404 and "unreachable" in response.text  # as imgproxy: 404


@pytest.mark.parametrize(
    "name",
    # A PNG whose header lies and a GIF frame far larger than the limit; a PNG whose pixel data
    # alone is damaged renders instead (tests/test_http_damaged_sources.py).
    ["broken.png", "decompression_bomb.gif"],
)
def test_hostile_files_are_422(client: httpx.Client, server: AppServer, name: str) -> None:
    response = client.get(f"{server.base}/unsafe/rs:fit:50:50/plain/local:///core/{name}")
    assert response.status_code == 422, (name, response.status_code)


def test_frame_extents_beyond_the_screen_are_clipped(client: httpx.Client, server: AppServer) -> None:
    # A GIF frame claiming to be larger than its logical screen: the decoder clips it to
    # the 100x100 screen, so it is safe to process at that size.
    response = client.get(f"{server.base}/unsafe/rs:fit:50:50/plain/local:///core/decompression_bomb_extents.gif")
    assert response.status_code == 200
    from tests.conftest import decode

    assert (decode(response.content).width, decode(response.content).height) == (50, 50)


def test_invalid_exif_still_processes(client: httpx.Client, server: AppServer) -> None:
    response = client.get(f"{server.base}/unsafe/rs:fit:50:50/plain/local:///core/invalid-exif.jpg")
    assert response.status_code == 200


def test_not_an_image_is_422(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    url = origin.add("/errors/text.jpg", b"<html>hello</html>")
    response = client.get(f"{server.base}/unsafe/w:10/plain/{url}")
    assert response.status_code == 422 and response.text == "Invalid source image"  # imgproxy's words


def test_resolution_limit_is_422_before_decoding(client: httpx.Client, start_server, origin: Origin,
                                                 big_jpeg: bytes) -> None:  # type: ignore[no-untyped-def]
    limited = start_server(IMGPROXY_MAX_SRC_RESOLUTION="5")
    url = origin.add("/errors/12mp.jpg", big_jpeg)
    response = client.get(f"{limited.base}/unsafe/rs:fit:100:100/plain/{url}")
    assert response.status_code == 422 and "resolution" in response.text.lower()


def test_file_size_limit_is_422(client: httpx.Client, start_server, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    limited = start_server(IMGPROXY_MAX_SRC_FILE_SIZE="1000")
    url = origin.add("/errors/big.jpg", asset("hopper.jpg").read_bytes())
    assert client.get(f"{limited.base}/unsafe/w:10/plain/{url}").status_code == 422


def test_processing_timeout_is_503(client: httpx.Client, start_server, origin: Origin,
                                   big_jpeg: bytes) -> None:  # type: ignore[no-untyped-def]
    hurried = start_server(IMGPROXY_TIMEOUT="0.2", IMGPROXY_DISABLE_SHRINK_ON_LOAD="true")
    url = origin.add("/errors/12mp-timeout.jpg", big_jpeg)
    response = client.get(f"{hurried.base}/unsafe/rs:fit:3000:3000/bl:40/plain/{url}")
    assert response.status_code == 503


@pytest.mark.parametrize("options", ["el:1/rs:fit:7000:7000/plain/{url}@png",
                                     "el:1/rs:fit:7000:7000/aq:dssim/plain/{url}"])
def test_an_encoding_past_the_timeout_is_stopped(client: httpx.Client, start_server, origin: Origin,  # type: ignore[no-untyped-def]
                                                 photo_jpeg: bytes, options: str) -> None:
    """Encodings that read the result more than once work on a copy of it in memory (a PNG's
    colours are counted, autoquality saves and measures several times): that copy, and the
    results decoded again to measure them, are stopped at IMGPROXY_TIMEOUT too. They used to run
    to their end before the 503 (4.8 and 4.1 s on the machine this was written on, for 2).  The
    size is such that the copy is made before the deadline and the rest takes seconds after it."""
    hurried = start_server(IMGPROXY_TIMEOUT="2")
    url = origin.add(f"/errors/encode-timeout-{len(options)}.jpg", photo_jpeg)
    started = time.monotonic()
    response = client.get(f"{hurried.base}/unsafe/" + options.format(url=url), timeout=120)
    assert response.status_code == 503
    assert time.monotonic() - started < 3.2


def test_a_detection_past_the_timeout_is_503(client: httpx.Client, start_server, origin: Origin,
                                              big_jpeg: bytes) -> None:  # type: ignore[no-untyped-def]
    """The face model's inference is stopped at IMGPROXY_TIMEOUT (its terminate flag, from the
    kill switch's timer) and answered 503, on an image URL and on /info, not run to the end.
    A whole detection on a 2560-pixel net takes 1.3 to 5 s on the hosts we ran it on (the first
    at that size also lays its memory out, slowly on some hosts): one is run first, whole, on
    the same server, to lay it out and to measure what a stop saves."""
    hurried = start_server(IMGPROXY_TIMEOUT="1", IMGPROXY_FACE_DETECTION_NET_SIZE="2560",
                           IMGPROXY_FACE_DETECTION_COARSE_NET_SIZE="0")
    detectors = hurried.services.processor.deps.objects.detectors
    started = time.monotonic()
    detectors.detect(pyvips.Image.new_from_buffer(big_jpeg, ""))  # no request: no deadline
    whole = time.monotonic() - started
    for n, path in enumerate(("/unsafe/rs:fill:300:200/g:obj:face/plain/{url}", "/info/unsafe/do:1/plain/{url}")):
        other = bytes(pyvips.Image.new_from_buffer(big_jpeg, "").jpegsave_buffer(Q=80 - n))  # no cached detection
        url = origin.add(f"/errors/timeout-face-{n}.jpg", other)
        started = time.monotonic()
        response = client.get(hurried.base + path.format(url=url), timeout=60)
        assert response.status_code == 503, (path, response.status_code)
        # The deadline and one operator more, far from the whole detection (and the download,
        # decoding and resizing around it).
        assert time.monotonic() - started < 1.0 + whole / 2, (path, whole)


def test_queue_full_is_429(start_server, origin: Origin, big_jpeg: bytes) -> None:  # type: ignore[no-untyped-def]
    tight = start_server(IMGPROXY_WORKERS="1", IMGPROXY_REQUESTS_QUEUE_SIZE="1",
                         IMGPROXY_DISABLE_SHRINK_ON_LOAD="true")
    url = origin.add("/errors/12mp-queue.jpg", big_jpeg)

    def get(i: int) -> int:
        # Distinct sizes: identical requests would share one processing run.
        with httpx.Client(timeout=60) as c:
            return c.get(f"{tight.base}/unsafe/rs:fit:{2000 + i}:2000/bl:8/plain/{url}").status_code

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(get, range(6)))
    assert 429 in statuses and 200 in statuses
    assert set(statuses) <= {200, 429}


def test_secret_header(client: httpx.Client, start_server) -> None:  # type: ignore[no-untyped-def]
    guarded = start_server(IMGPROXY_SECRET="s3cret")
    url = f"{guarded.base}/unsafe/w:10/plain/local:///core/hopper.jpg"
    assert client.get(url).status_code == 403
    assert client.get(url, headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_no_temp_files_or_fds_leak(client: httpx.Client, server: AppServer) -> None:
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    for _ in range(20):
        client.get(f"{server.base}/unsafe/rs:fit:50:50/plain/local:///core/broken.png")
        client.get(f"{server.base}/unsafe/rs:fit:50:50/plain/local:///core/hopper.jpg")
    after = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    assert after - before < 10


@pytest.mark.parametrize(
    "options",
    [
        "pd:9223372036854775807",  # int64's largest padding: once an OverflowError (500)
        "w:9223372036854775807/z:1e300/dpr:1e300/el:1",  # scale underflows to 0: once a ZeroDivisionError
        "w:100000/h:100000/el:1/f:png",
        "z:1e300/el:1",
        "rs:fill:100:100/mw:1000000/g:sm",  # the scaled image, before the crop, is what smart crop holds
        "rs:fit:10:10/ex:1/w:20000/h:20000",
    ],
)
def test_absurd_result_sizes_are_422_at_once(client: httpx.Client, server: AppServer, options: str) -> None:
    started = time.monotonic()
    response = client.get(f"{server.base}/unsafe/{options}/plain/local:///core/hopper.jpg")
    assert response.status_code == 422
    assert time.monotonic() - started < 5


def test_result_size_limit_follows_the_source_limit(client: httpx.Client, start_server) -> None:  # type: ignore[no-untyped-def]
    # 16384x16384 by default; twice the source resolution limit where that is larger.
    big = "rs:force:17000:17000/el:1/q:1/f:jpg"
    assert client.get(f"{server_url(start_server(), big)}").status_code == 422
    roomy = start_server(IMGPROXY_MAX_SRC_RESOLUTION="200")
    assert client.get(server_url(roomy, "rs:force:17000:100/el:1/f:png")).status_code == 200
    assert client.get(server_url(roomy, "rs:force:21000:21000/el:1/f:png")).status_code == 422


def server_url(server: AppServer, options: str, name: str = "hopper.jpg") -> str:
    return f"{server.base}/unsafe/{options}/plain/local:///core/{name}"


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ("rs:fit:20:20/bl:5000", "hopper.jpg"),  # beyond libvips's sigma range: once a 422
        ("rs:fit:20:20/sh:50", "hopper.jpg"),
        ("t:-5/rs:fit:20:20", "hopper.jpg"),
        ("rs:fit:20:20/bd:1e308", "hopper.jpg"),  # a face's blur margin was infinite: a 500
        ("rs:fit:20:20/pxd:9223372036854775807", "hopper.jpg"),  # blocks beyond a C int: a 500
    ],
)
def test_effects_beyond_libvips_ranges_still_process(client: httpx.Client, server: AppServer, options: str,
                                                     name: str) -> None:
    response = client.get(server_url(server, options, name))
    assert response.status_code == 200
    img = decode(response.content)
    assert (img.width, img.height) == (20, 20)


def test_page_beyond_a_c_int_is_422(client: httpx.Client, server: AppServer) -> None:
    for page in (99_999_999, 2**40):
        assert client.get(server_url(server, f"pg:{page}", "hopper.gif")).status_code == 422


def test_watermark_extremes(client: httpx.Client, start_server) -> None:  # type: ignore[no-untyped-def]
    marked = start_server(IMGPROXY_WATERMARK_PATH=str(asset("p_trns_single.png")))
    assert client.get(server_url(marked, "wm:1:ce:0:0:1e300")).status_code == 422
    for options in ("wm:1:re:1e300:1e300", "wm:1:re:-1e300:-1e300", "wm:1:re:0.5:0.5:3"):
        response = client.get(server_url(marked, f"rs:fit:40:40/{options}"))
        assert response.status_code == 200, options
        assert decode(response.content).width == 40


def test_control_characters_never_reach_a_header(client: httpx.Client, server: AppServer) -> None:
    # fn:<base64 of "a\r\nb">:1; a percent-decoded source path can hold them as well.
    response = client.get(server_url(server, "fn:YQ0KYg:1/w:10"))
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "a__b.jpg" in disposition


def test_truncated_body_is_422(client: httpx.Client, server: AppServer) -> None:
    # imgproxy: a body cut short ("unexpected EOF") is 422 "Source response is incomplete"
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 5000\r\n\r\n"
                     + asset("hopper.jpg").read_bytes()[:100])
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    port = listener.getsockname()[1]
    try:
        response = client.get(f"{server.base}/unsafe/w:10/plain/http://127.0.0.1:{port}/cut.jpg")
        assert response.status_code == 422 and "incomplete" in response.text
    finally:
        listener.close()
