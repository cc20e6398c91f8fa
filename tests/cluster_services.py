"""Real Redis and nginx for the cluster tests, from the system's packages (and memcached, which
the OpenStack Swift server of the ``swift://`` tests keeps its tokens in).

When a binary is missing and we may install packages (root with apt-get), the set-up installs
Debian's ``redis-server``, ``nginx`` and ``memcached`` once; elsewhere the tests fail saying what
to install.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.ports import free_port

PACKAGES = ("redis-server", "nginx", "memcached")
LOCK = Path(__file__).resolve().parent / ".services" / "apt.lock"


def require_binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        # One installer at a time: parallel test workers would race for dpkg's lock.
        LOCK.parent.mkdir(exist_ok=True)
        with open(LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
            if not found:
                env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
                subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES], env=env,
                               capture_output=True, check=False, timeout=600)
                found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if found:
            return found
    pytest.fail(f"{name} is needed by the tests: install Debian's {', '.join(PACKAGES)} "
                f"(apt-get install -y {' '.join(PACKAGES)})")




def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen([require_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


NGINX_CONF = """
worker_processes 1;
error_log {root}/error.log warn;
pid {root}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream imgproxy {{
{servers}
        keepalive 16;
        keepalive_timeout 5s;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://imgproxy;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # A node that dies or drains refuses or drops the connection: GETs go to the next.
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, root: Path, upstream_ports: list[int]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in upstream_ports)
        conf = root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=root, servers=servers, port=self.port))
        self.proc = subprocess.Popen([require_binary("nginx"), "-c", str(conf), "-p", str(root), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def error_log(self, last: int = 20) -> str:
        """The end of nginx's error log (warnings and up): why a request it passed on failed."""
        path = self.root / "error.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-last:]) if path.exists() else ""

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
