"""Three nodes behind nginx sharing Redis: a burst of requests for one cold URL reaches the
origin once, and under load a node killed outright and another stopped with SIGTERM cost no
client request (nginx retries GETs elsewhere; the draining node finishes its work)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.cluster_nodes import Node
from tests.cluster_services import Nginx, RedisServer
from tests.servers import Origin


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[tuple[Nginx, list[Node]]]:
    redis = RedisServer()
    env = {"IMGPROXY_CACHE_REDIS_URL": redis.url, "IMGPROXY_GRACEFUL_STOP_TIMEOUT": "10"}
    nodes = [Node(env, log_path=tmp_path / f"node{n}.log") for n in range(3)]
    nginx: Nginx | None = None
    try:
        for node in nodes:
            node.wait_ready()
        nginx = Nginx(tmp_path / "nginx", [node.port for node in nodes])
        yield nginx, nodes
    finally:
        if nginx is not None:
            nginx.stop()
        for node in nodes:
            node.stop()
        redis.stop()


def test_cluster_renders_once_and_survives_a_kill_and_a_drain(
        cluster: tuple[Nginx, list[Node]], origin: Origin, photo_jpeg: bytes) -> None:
    nginx, nodes = cluster
    url = origin.add("/nginx/cold.jpg", photo_jpeg, delay=0.5)
    path = f"/unsafe/rs:fit:150:150/plain/{url}@webp"
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(30) as pool:
        burst = list(pool.map(lambda _: client.get(nginx.base + path), range(30)))
    assert [r.status_code for r in burst] == [200] * 30
    assert origin.count("/nginx/cold.jpg") == 1

    # Ten seconds of load over a few sources and sizes (cold renders and cache hits).
    sources = [origin.add(f"/nginx/load{n}.jpg", photo_jpeg, delay=0.2) for n in range(4)]
    statuses: list[int] = []
    errors: list[str] = []
    stop_at = time.monotonic() + 10

    def load(worker: int) -> None:
        n = 0
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop_at:
                target = f"{nginx.base}/unsafe/rs:fit:{60 + (worker * 7 + n) % 40}:60/plain/{sources[n % 4]}"
                try:
                    statuses.append(client.get(target).status_code)
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))
                n += 1

    threads = [threading.Thread(target=load, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    nodes[0].proc.send_signal(signal.SIGKILL)
    time.sleep(2)
    nodes[1].proc.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(40)
    assert errors == [], (errors, nginx.error_log())
    assert len(statuses) > 20 and set(statuses) == {200}
    # Drained and exited by itself (uvicorn re-raises the SIGTERM it handled once it is done).
    assert nodes[1].proc.wait(20) in (0, -signal.SIGTERM)
