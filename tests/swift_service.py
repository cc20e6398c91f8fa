"""A real OpenStack Swift cluster on loopback for the ``swift://`` tests: Swift's own proxy,
account, container and object servers (the ``swift`` package of the dev extra, one process
each, one device, one replica) with tempauth (auth v1), whose tokens live in a real memcached.

Rings and configuration are written to a temporary folder; Swift reads ``swift.conf`` from the
``swift_dir`` its configuration names, so nothing is written outside it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.cloud_services import service
from tests.cluster_services import require_binary
from tests.ports import free_port

ACCOUNT, USER, KEY = "test", "tester", "testing"  # tempauth's user test:tester, key testing
SERVERS = ("account", "container", "object")


@dataclass(frozen=True)
class SwiftCluster:
    proxy: str  # http://127.0.0.1:PORT
    memcached_port: int

    @property
    def auth_url(self) -> str:
        return f"{self.proxy}/auth/v1.0"

    def token(self, user: str = f"{ACCOUNT}:{USER}", key: str = KEY) -> tuple[str, str]:
        """(storage URL, token) from tempauth."""
        response = httpx.get(self.auth_url, headers={"X-Auth-User": user, "X-Auth-Key": key})
        response.raise_for_status()
        return response.headers["X-Storage-Url"], response.headers["X-Auth-Token"]

    def put(self, path: str, data: bytes | None = None) -> None:
        """PUT a container (``name``) or an object (``container/name``)."""
        storage, token = self.token()
        response = httpx.put(f"{storage}/{path}", content=data or b"", headers={"X-Auth-Token": token})
        assert response.status_code in (201, 202), response.text

    def get(self, path: str) -> httpx.Response:
        storage, token = self.token()
        return httpx.get(f"{storage}/{path}", headers={"X-Auth-Token": token})

    def flush_tokens(self) -> None:
        """Forget every token (memcached's ``flush_all``), as when they expire."""
        import socket

        with socket.create_connection(("127.0.0.1", self.memcached_port)) as sock:
            sock.sendall(b"flush_all\r\n")
            assert sock.recv(64).startswith(b"OK")


def _write_config(root: Path, ports: dict[str, int]) -> None:
    (root / "swift.conf").write_text("[swift-hash]\nswift_hash_path_suffix = imgproxy-py-tests\n"
                                     "[storage-policy:0]\nname = gold\ndefault = yes\n")
    (root / "devices" / "d1").mkdir(parents=True)
    bin_dir = Path(sys.executable).parent
    for kind in SERVERS:
        builder = str(root / f"{kind}.builder")
        for args in (["create", "4", "1", "1"], ["add", f"r1z1-127.0.0.1:{ports[kind]}/d1", "1"], ["rebalance"]):
            subprocess.run([str(bin_dir / "swift-ring-builder"), builder, *args], capture_output=True, check=False)
        if not (root / f"{kind}.ring.gz").exists():
            raise RuntimeError(f"swift-ring-builder made no {kind} ring")
    # workers = 0: each server in one process; logs to a discarded UDP port, not syslog.
    common = (f"[DEFAULT]\nbind_ip = 127.0.0.1\nworkers = 0\nswift_dir = {root}\ndevices = {root}/devices\n"
              "mount_check = false\nlog_udp_host = 127.0.0.1\nlog_udp_port = 9\n")
    for kind in SERVERS:
        (root / f"{kind}.conf").write_text(
            common + f"bind_port = {ports[kind]}\n[pipeline:main]\npipeline = {kind}-server\n"
            f"[app:{kind}-server]\nuse = egg:swift#{kind}\n")
    (root / "proxy.conf").write_text(
        common + f"bind_port = {ports['proxy']}\n"
        "[pipeline:main]\npipeline = catch_errors cache tempauth proxy-server\n"
        "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
        "[filter:catch_errors]\nuse = egg:swift#catch_errors\n"
        f"[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:{ports['memcached']}\n"
        f"[filter:tempauth]\nuse = egg:swift#tempauth\nuser_{ACCOUNT}_{USER} = {KEY} .admin\n")


@contextmanager
def swift_cluster(root: Path) -> Iterator[SwiftCluster]:
    ports = {name: free_port() for name in (*SERVERS, "proxy", "memcached")}
    _write_config(root, ports)
    bin_dir = Path(sys.executable).parent
    with ExitStack() as stack:
        stack.enter_context(service("memcached", [require_binary("memcached"), "-l", "127.0.0.1", "-p",
                                                  str(ports["memcached"]), "-U", "0", "-u", "root"],
                                    ports["memcached"]))
        for kind in (*SERVERS, "proxy"):
            stack.enter_context(service(f"swift-{kind}-server", [str(bin_dir / f"swift-{kind}-server"),
                                                                 str(root / f"{kind}.conf")], ports[kind]))
        cluster = SwiftCluster(f"http://127.0.0.1:{ports['proxy']}", ports["memcached"])
        deadline = time.monotonic() + 30
        while True:  # the proxy listens before its pipeline answers
            try:
                cluster.token()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield cluster
