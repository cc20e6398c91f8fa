"""IMGPROXY_NETWORK (a unix socket, IPv6 only), the ``health`` command, and IMGPROXY_PATH_PREFIX
over every route, through ``imgproxy-py serve``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from imgproxy_py.config import read_config
from imgproxy_py.server.listen import ListenAddress, bind_unix_socket, parse_listen_address
from imgproxy_py.url.builder import sign
from tests.cluster_nodes import ROOT, Node
from tests.conftest import decode
from tests.ports import free_port

KEY, SALT = "ab" * 16, "cd" * 16
IMAGE = "/rs:fit:40:40/plain/local:///core/hopper.jpg"


def health(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imgproxy_py", "health", "--timeout", "5"], cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("network", "bind", "expected"), [
    ("", ":8080", ListenAddress("tcp", "0.0.0.0", 8080)),
    ("tcp6", ":9000", ListenAddress("tcp6", "::", 9000)),
    ("TCP4", "127.0.0.1:81", ListenAddress("tcp4", "127.0.0.1", 81)),
    ("unix", "/run/imgproxy.sock", ListenAddress("unix", "", 0, "/run/imgproxy.sock")),
])
def test_listen_addresses(network: str, bind: str, expected: ListenAddress) -> None:
    assert parse_listen_address(network, bind) == (expected, [])


@pytest.mark.parametrize(("network", "bind", "setting"), [
    ("unixpacket", "/run/x.sock", "IMGPROXY_NETWORK"), ("udp", ":80", "IMGPROXY_NETWORK"),
    ("unix", ":8080", "IMGPROXY_BIND"), ("tcp", "localhost", "IMGPROXY_BIND"), ("tcp", ":99999", "IMGPROXY_BIND"),
])
def test_bad_listen_settings_stop_start_up(network: str, bind: str, setting: str) -> None:
    _, problems = read_config({"IMGPROXY_NETWORK": network, "IMGPROXY_BIND": bind})
    assert [p.split(":")[0] for p in problems] == [setting]


def test_serving_on_a_unix_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "imgproxy.sock")
    stale = bind_unix_socket(path)  # a socket file left behind by a server that is gone
    stale.close()
    env = {"IMGPROXY_NETWORK": "unix", "IMGPROXY_BIND": path}
    node = Node(env)
    try:
        with httpx.Client(transport=httpx.HTTPTransport(uds=path), timeout=30) as client:
            for _ in range(300):
                if node.proc.poll() is not None:
                    pytest.fail(f"the server exited with {node.proc.returncode}")
                try:
                    if client.get("http://imgproxy/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            response = client.get(f"http://imgproxy/unsafe{IMAGE}")
            assert response.status_code == 200 and decode(response.content).width == 40
        assert health(env).returncode == 0
        # A second server must not take over a socket a live server answers on.
        second = subprocess.run([sys.executable, "-m", "imgproxy_py", "serve"], cwd=ROOT, capture_output=True,
                                text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env})
        assert second.returncode != 0 and path in second.stderr
    finally:
        node.stop()
    assert health(env).returncode == 1


def test_ipv6_only_network() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    port = free_port()
    node = Node({"IMGPROXY_NETWORK": "tcp6", "IMGPROXY_BIND": f"[::1]:{port}"}, port=port)
    try:
        env = {"IMGPROXY_NETWORK": "tcp6", "IMGPROXY_BIND": f"[::1]:{port}"}
        for _ in range(600):
            assert node.proc.poll() is None
            try:
                httpx.get(f"http://[::1]:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health(env).returncode == 0
        assert httpx.get(f"http://[::1]:{port}/unsafe{IMAGE}", timeout=30).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    finally:
        node.stop()


def test_every_route_is_under_the_path_prefix() -> None:
    node = Node({"IMGPROXY_PATH_PREFIX": "/img", "IMGPROXY_KEY": KEY, "IMGPROXY_SALT": SALT})
    try:
        node.wait_ready()
        base = node.base + "/img"
        image = httpx.get(base + sign(IMAGE, KEY, SALT), timeout=30)
        assert image.status_code == 200 and decode(image.content).width == 40
        # The signature covers the path after the prefix: signing the prefix too is a 403.
        over_prefix = sign("/img" + IMAGE, KEY, SALT).split("/")[1]
        assert httpx.get(f"{base}/{over_prefix}{IMAGE}", timeout=30).status_code == 403
        info_path = "/plain/local:///core/hopper.jpg"
        info = httpx.get(f"{base}/info{sign(info_path, KEY, SALT)}", timeout=30)
        assert info.status_code == 200 and info.json()["width"] == 128
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
        assert httpx.get(f"{base}/", timeout=10).status_code == 200
        assert 'href="/img/health"' in httpx.get(base, timeout=10).text  # the landing page's links carry it
        # "/imgx" is not the prefix "/img": the path is read as it stands, "imgx" as its signature (403).
        assert httpx.get(f"{node.base}/imgx{sign(IMAGE, KEY, SALT)}", timeout=30).status_code == 403
        env = {"IMGPROXY_BIND": f"127.0.0.1:{node.port}", "IMGPROXY_PATH_PREFIX": "/img"}
        assert health(env).returncode == 0
        # An egress proxy in the environment (here one that is down) is not asked about this host.
        assert health({**env, "HTTP_PROXY": f"http://127.0.0.1:{free_port()}"}).returncode == 0
    finally:
        node.stop()
