"""Real storage servers on loopback for the cloud-source tests: moto's S3 server, a GCS
emulator and Azurite, each a subprocess on a free port; plus a byte-counting TCP relay and a
server that accepts and never answers.

A server that cannot start fails the set-up with its output: these tests never skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "tests" / ".services"  # npm packages installed for the tests (ignored by git)




def wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, log: IO[bytes],
                  timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    log.seek(0)
    output = log.read().decode(errors="replace")
    raise RuntimeError(f"{name} did not start on port {port}:\n{output[-3000:]}")


@contextmanager
def service(name: str, command: Sequence[str], port: int, env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> Iterator[int]:
    # The server's log goes to a file, not a pipe: a pipe nobody reads would fill and stall it.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})}, cwd=cwd)
        try:
            wait_for_port(port, process, name, log)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def moto_server(**env: str) -> Iterator[str]:
    """moto's standalone server (S3, STS...); yields its endpoint URL."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with service("moto server", command, port, env):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def gcs_emulator() -> Iterator[str]:
    """gcp-storage-emulator (in memory); yields its endpoint URL."""
    port = free_port()
    command = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1",
               "--port", str(port), "--in-memory"]
    with service("GCS emulator", command, port):
        yield f"http://127.0.0.1:{port}"


def azurite_command() -> list[str]:
    """Azurite's blob server from tests/.services (``make test-services`` installs it there)."""
    script = SERVICES / "node_modules" / ".bin" / "azurite-blob"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("Azurite is not installed and npm is missing: run `make test-services`")
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(SERVICES), "azurite@3"],
                       check=True, capture_output=True, timeout=600)
    return [str(script)]


@contextmanager
def azurite(workdir: Path) -> Iterator[str]:
    """Azurite's blob service; yields its endpoint URL (account ``devstoreaccount1``)."""
    port = free_port()
    command = [*azurite_command(), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--silent",
               "--skipApiVersionCheck", "--loose", "--inMemoryPersistence"]
    with service("Azurite", command, port, cwd=workdir):
        yield f"http://127.0.0.1:{port}/devstoreaccount1"


class CountingRelay:
    """A TCP relay to ``target_port`` that counts the bytes the target sent back."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.bytes_from_target = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        try:
            while data := source.recv(65536):
                if count:
                    self.bytes_from_target += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


def assert_revalidation_downloads_nothing(client: httpx.Client, url: str, relay: CountingRelay, source_size: int,
                                          most_bytes: int) -> None:
    """The first GET of ``url`` brings the whole object through ``relay``; the same GET with the
    ETag it got is a 304 for which the store sent more than nothing but at most ``most_bytes``."""
    first = client.get(url)
    assert first.status_code == 200 and relay.bytes_from_target > source_size
    before = relay.bytes_from_target
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert 0 < relay.bytes_from_target - before < most_bytes


def assert_raw_streams_from_the_store(client: httpx.Client, base: str, scheme: str, whole: bytes, *,
                                      etag: bool = True) -> None:
    """``raw:1`` hands the client's Range and validators to the store and streams its answer:
    only the asked bytes of ``<scheme>://photos/cats/hopper.jpg`` (``whole``) come back, typed
    by its bytes when the store has no type for it, a revalidation with the store's ETag is its
    304 (``etag``: the store sends one), and a missing object is our 404, not the store's error
    body."""
    url = f"{base}/unsafe/raw:1/plain/{scheme}://photos/cats/hopper.jpg"
    part = client.get(url, headers={"Range": "bytes=10-109"})
    assert part.status_code == 206, part.text
    assert part.content == whole[10:110] and part.headers["content-range"] == f"bytes 10-109/{len(whole)}"
    full = client.get(url)
    assert full.status_code == 200 and full.content == whole and full.headers["content-type"] == "image/jpeg"
    if etag:
        assert client.get(url, headers={"If-None-Match": full.headers["etag"]}).status_code == 304
    missing = client.get(f"{base}/unsafe/raw:1/plain/{scheme}://photos/missing.jpg")
    assert missing.status_code == 404 and missing.text == "Source image not found"


@contextmanager
def stalled_server() -> Iterator[int]:
    """A port whose connections are accepted by the kernel and never answered."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set process environment variables (the AWS SDK's standard sources) for a block."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
