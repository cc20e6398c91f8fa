"""How origins are dialled (``sources.dialer``): every address checked, the addresses raced as Go
dials them.  The origin and the unanswering address are real sockets on loopback; only the name's
DNS answer is given (a resolver passed to the backend), as no test can own a DNS name."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from imgproxy_py.errors import SourceNotAllowedError, SourceUnreachableError
from imgproxy_py.sources.base import SourceImage
from imgproxy_py.sources.dialer import interleaved
from tests.conftest import asset
from tests.servers import Origin, origin_fetch

JPEG = asset("hopper.jpg").read_bytes()


def test_families_alternate_from_the_resolvers_first() -> None:
    assert interleaved(["2001:db8::1", "2001:db8::2", "10.0.0.1", "10.0.0.2", "10.0.0.3"]) == [
        "2001:db8::1", "10.0.0.1", "2001:db8::2", "10.0.0.2", "10.0.0.3"]
    assert interleaved(["10.0.0.1", "2001:db8::1"]) == ["10.0.0.1", "2001:db8::1"]


@pytest.fixture
def unanswering(origin: Origin) -> Iterator[str]:
    """127.0.0.2 on the origin's port, its accept queue full: a connection to it gets no answer
    (the kernel drops the SYN), as to a black-holed address."""
    listener = socket.socket()
    listener.bind(("127.0.0.2", origin.port))
    listener.listen(0)
    queued = []
    for _ in range(3):
        queued.append(sock := socket.socket())
        sock.setblocking(False)
        try:
            sock.connect(("127.0.0.2", origin.port))
        except BlockingIOError:
            pass
    time.sleep(0.2)
    yield "127.0.0.2"
    for sock in (*queued, listener):
        sock.close()


def fetch(origin: Origin, path: str, addresses: list[str]) -> tuple[SourceImage, float]:
    async def resolve(host: str, port: int) -> list[str]:
        assert host == "photos.example.test"
        return addresses

    started = time.monotonic()
    image = origin_fetch(f"http://photos.example.test:{origin.port}{path}", resolver=resolve)
    return image, time.monotonic() - started


def test_an_unanswering_address_gives_way_to_the_next(origin: Origin, unanswering: str) -> None:
    """The download timeout is 5 s: waiting it out on the first address would fail the image."""
    origin.add("/dialer/a.jpg", JPEG)
    image, elapsed = fetch(origin, "/dialer/a.jpg", [unanswering, "127.0.0.1"])
    assert image.data == JPEG and elapsed < 3
    assert origin.count("/dialer/a.jpg") == 1


def test_a_refused_address_gives_way_at_once(origin: Origin) -> None:
    origin.add("/dialer/b.jpg", JPEG)
    image, _ = fetch(origin, "/dialer/b.jpg", ["127.0.0.3", "127.0.0.1"])  # nothing listens on .3
    assert image.data == JPEG


def test_every_address_refused_is_unreachable(origin: Origin) -> None:
    with pytest.raises(SourceUnreachableError):
        fetch(origin, "/dialer/c.jpg", ["127.0.0.3", "127.0.0.4"])


def test_every_address_is_checked_before_any_connection(origin: Origin) -> None:
    origin.add("/dialer/d.jpg", JPEG)
    with pytest.raises(SourceNotAllowedError):
        fetch(origin, "/dialer/d.jpg", ["127.0.0.1", "169.254.169.254"])
    assert origin.count("/dialer/d.jpg") == 0
