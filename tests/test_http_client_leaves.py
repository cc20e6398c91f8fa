"""Through a real server: a request whose client closes the connection stops, as imgproxy's does
(Go cancels the request's context): its rendering is killed, its place in the queue given up, and
a request for the same image that waited on it renders it itself."""

from __future__ import annotations

import concurrent.futures
import socket
import time
from collections.abc import Callable

import httpx
import pytest
import pyvips

from tests.conftest import decode
from tests.servers import AppServer, Origin

# Far more than 10 s of one libvips thread on a 12 MP source (a 503 under the default timeout).
SLOW = "/unsafe/bl:300/plain/{url}"
# About a second: long enough to be waited on.
MODERATE = "/unsafe/rs:fit:2000:2000/bl:80/plain/{url}"


def wait_until(condition: Callable[[], bool], limit: float) -> float:
    """Seconds until ``condition`` holds; fails after ``limit``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < limit, "condition not met in time"
        time.sleep(0.02)
    return time.monotonic() - started


def send(server: AppServer, path: str) -> socket.socket:
    """A client that sends a GET and never reads the answer."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


@pytest.fixture()
def one_worker(start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(IMGPROXY_WORKERS="1", IMGPROXY_TIMEOUT="60", IMGPROXY_DISABLE_SHRINK_ON_LOAD="true")


def test_a_rendering_stops_when_its_client_leaves(one_worker: AppServer, origin: Origin, big_jpeg: bytes,
                                                  client: httpx.Client) -> None:
    workers = one_worker.services.workers
    url = origin.add("/leaves/slow.jpg", big_jpeg)
    sock = send(one_worker, SLOW.format(url=url))
    wait_until(lambda: workers.running == 1, 20)
    time.sleep(0.3)
    sock.close()
    # Without the stop it would run for more than 10 s more.
    assert wait_until(lambda: workers.active == 0 and workers.running == 0, 10) < 2.5
    # The worker serves the next request.
    response = client.get(f"{one_worker.base}/unsafe/rs:fit:100:100/plain/{url}")
    assert response.status_code == 200 and decode(response.content).width == 100


def test_a_queued_request_whose_client_leaves_gives_up_its_place(one_worker: AppServer, origin: Origin,
                                                                 big_jpeg: bytes) -> None:
    workers = one_worker.services.workers
    url = origin.add("/leaves/queued.jpg", big_jpeg)
    busy = send(one_worker, SLOW.format(url=url))
    wait_until(lambda: workers.running == 1, 20)
    queued = send(one_worker, f"/unsafe/rs:fit:200:200/plain/{url}")
    wait_until(lambda: workers.waiting == 1, 10)
    queued.close()
    assert wait_until(lambda: workers.waiting == 0, 10) < 2
    assert workers.active == 1  # the first one still renders
    busy.close()
    wait_until(lambda: workers.active == 0, 10)


def test_a_request_waiting_on_a_leavers_rendering_renders_it_itself(start_server: Callable[..., AppServer],
                                                                    origin: Origin, big_jpeg: bytes) -> None:
    server = start_server(IMGPROXY_WORKERS="2", IMGPROXY_TIMEOUT="60", IMGPROXY_DISABLE_SHRINK_ON_LOAD="true")
    workers = server.services.workers
    url = origin.add("/leaves/shared.jpg", big_jpeg)
    path = MODERATE.format(url=url)
    processed = server.services.images_processed
    leaver = send(server, path)
    wait_until(lambda: workers.running == 1, 20)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        staying = pool.submit(httpx.get, server.base + path, timeout=60)
        # The second request holds a slot but runs nothing: it waits on the first one's rendering.
        wait_until(lambda: workers.active == 2, 10)
        time.sleep(0.2)
        assert workers.running == 1
        leaver.close()
        response = staying.result()
    assert response.status_code == 200
    assert decode(response.content).width == 2000
    assert server.services.images_processed == processed + 2  # rendered again for the one that stayed


def test_a_detection_stops_when_its_client_leaves(start_server: Callable[..., AppServer], origin: Origin,
                                                  big_jpeg: bytes, client: httpx.Client) -> None:
    """The face model's inference (``detection.sessions``) stops too, not only libvips: on a
    2560-pixel net it takes more than a second."""
    server = start_server(IMGPROXY_WORKERS="1", IMGPROXY_TIMEOUT="60", IMGPROXY_FACE_DETECTION_NET_SIZE="2560",
                          IMGPROXY_FACE_DETECTION_COARSE_NET_SIZE="0")
    workers = server.services.workers
    face = "/unsafe/rs:fill:300:200/g:obj:face/plain/{url}"
    started = time.monotonic()
    assert client.get(server.base + face.format(url=origin.add("/leaves/face-whole.jpg", big_jpeg))).status_code == 200
    whole = time.monotonic() - started
    inferences = server.services.processor.deps.objects.inferences  # type: ignore[union-attr]
    other = bytes(pyvips.Image.new_from_buffer(big_jpeg, "").jpegsave_buffer(Q=84))  # not in the detection cache
    sock = send(server, face.format(url=origin.add("/leaves/face-left.jpg", other)))
    started = time.monotonic()
    wait_until(lambda: server.services.processor.deps.objects.inferences > inferences, 20)  # type: ignore[union-attr]
    time.sleep(0.1)
    sock.close()
    wait_until(lambda: workers.active == 0 and workers.running == 0, 20)
    assert time.monotonic() - started < whole * 0.7, whole  # stopped, not run to the end
