"""What each hop of an origin's redirect carries, as Go's client sends it for imgproxy: the first
request's ``Authorization`` on to the same host (any port) and its subdomains until a hop leaves
the domain, never one made from ``user:password@``; the previous hop as ``Referer``, unless the
first request had its own or the hop goes from https to http.

Host names are given their loopback address by a resolver passed to the backend, as no test can
own a DNS name; the origins are real servers on loopback."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from imgproxy_py.sources.redirects import is_domain_or_subdomain
from tests.conftest import asset
from tests.servers import Origin, origin_fetch, self_signed_origin

JPEG = asset("hopper.jpg").read_bytes()
TOKEN = "Bearer t-1"


@pytest.fixture(scope="module")
def second_origin() -> Iterator[Origin]:
    origin = Origin()
    yield origin
    origin.close()


@pytest.fixture(scope="module")
def tls_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Origin]:
    origin = self_signed_origin(tmp_path_factory.mktemp("redirect-tls"))
    yield origin
    origin.close()


async def resolve(host: str, port: int) -> list[str]:
    """Every ``*.test`` name on loopback."""
    assert host.endswith(".test") or host == "127.0.0.1", host
    return ["127.0.0.1"]


def fetch(url: str, headers: dict[str, str] | None = None) -> bytes:
    return origin_fetch(url, env={"IMGPROXY_IGNORE_SSL_VERIFICATION": "true"}, resolver=resolve, headers=headers).data


def redirect(origin: Origin, path: str, location: str) -> None:
    origin.add(path, b"", status=302, headers={"Location": location})


def received(origin: Origin, path: str) -> dict[str, str]:
    """The headers of the last request ``origin`` got for ``path``, names lower-cased."""
    last = [headers for p, headers in origin.requests if p.split("?", 1)[0] == path][-1]
    return {name.lower(): value for name, value in last.items()}


def test_authorization_goes_on_to_a_subdomain_and_another_port(origin: Origin, second_origin: Origin) -> None:
    origin.add("/rd/sub/photo.jpg", JPEG)
    second_origin.add("/rd/port/photo.jpg", JPEG)
    redirect(origin, "/rd/sub", f"http://cdn.img.example.test:{origin.port}/rd/sub/photo.jpg")
    redirect(origin, "/rd/port", f"http://img.example.test:{second_origin.port}/rd/port/photo.jpg")
    assert fetch(f"http://img.example.test:{origin.port}/rd/sub", {"Authorization": TOKEN}) == JPEG
    assert received(origin, "/rd/sub/photo.jpg")["authorization"] == TOKEN
    # httpx drops it on another port (another origin); Go's client compares host names.
    assert fetch(f"http://img.example.test:{origin.port}/rd/port", {"Authorization": TOKEN}) == JPEG
    assert received(second_origin, "/rd/port/photo.jpg")["authorization"] == TOKEN


def test_authorization_stops_at_another_domain_and_does_not_come_back(origin: Origin) -> None:
    origin.add("/rd/away/photo.jpg", JPEG)
    origin.add("/rd/back/photo.jpg", JPEG)
    redirect(origin, "/rd/away", f"http://example.test:{origin.port}/rd/away/photo.jpg")  # a parent domain
    redirect(origin, "/rd/back", f"http://cdn.example.test:{origin.port}/rd/back/hop")
    redirect(origin, "/rd/back/hop", f"http://img.example.test:{origin.port}/rd/back/photo.jpg")
    assert fetch(f"http://img.example.test:{origin.port}/rd/away", {"Authorization": TOKEN}) == JPEG
    assert "authorization" not in received(origin, "/rd/away/photo.jpg")
    assert fetch(f"http://img.example.test:{origin.port}/rd/back", {"Authorization": TOKEN}) == JPEG
    assert "authorization" not in received(origin, "/rd/back/hop")
    assert "authorization" not in received(origin, "/rd/back/photo.jpg")  # back home: still none


def test_the_url_login_is_for_the_first_request_only(origin: Origin) -> None:
    origin.add("/rd/login/photo.jpg", JPEG)
    redirect(origin, "/rd/login", "/rd/login/photo.jpg")
    assert fetch(f"http://user:secret@img.example.test:{origin.port}/rd/login") == JPEG
    assert received(origin, "/rd/login")["authorization"] == "Basic " + base64.b64encode(b"user:secret").decode()
    followed = received(origin, "/rd/login/photo.jpg")
    assert "authorization" not in followed
    assert followed["referer"] == f"http://img.example.test:{origin.port}/rd/login"  # without the login


def test_the_previous_hop_is_the_referer(origin: Origin) -> None:
    origin.add("/rd/ref/photo.jpg", JPEG)
    redirect(origin, "/rd/ref", "/rd/ref/hop?size=2")
    redirect(origin, "/rd/ref/hop", "/rd/ref/photo.jpg")
    assert fetch(f"http://img.example.test:{origin.port}/rd/ref") == JPEG
    assert "referer" not in received(origin, "/rd/ref")
    assert received(origin, "/rd/ref/hop")["referer"] == f"http://img.example.test:{origin.port}/rd/ref"
    assert received(origin, "/rd/ref/photo.jpg")["referer"] == f"http://img.example.test:{origin.port}/rd/ref/hop?size=2"
    # The first request's own Referer goes on unchanged.
    assert fetch(f"http://img.example.test:{origin.port}/rd/ref", {"Referer": "https://shop.test/p/1"}) == JPEG
    assert received(origin, "/rd/ref/photo.jpg")["referer"] == "https://shop.test/p/1"


def test_no_referer_from_https_to_http(origin: Origin, tls_origin: Origin) -> None:
    origin.add("/rd/tls/photo.jpg", JPEG)
    redirect(tls_origin, "/rd/tls", f"https://img.example.test:{tls_origin.port}/rd/tls/hop")
    redirect(tls_origin, "/rd/tls/hop", f"http://img.example.test:{origin.port}/rd/tls/photo.jpg")
    assert fetch(f"https://img.example.test:{tls_origin.port}/rd/tls") == JPEG
    assert received(tls_origin, "/rd/tls/hop")["referer"] == f"https://img.example.test:{tls_origin.port}/rd/tls"
    assert "referer" not in received(origin, "/rd/tls/photo.jpg")


@pytest.mark.parametrize(("host", "parent", "expected"), [
    ("example.test", "example.test", True),
    ("cdn.example.test", "example.test", True),
    ("a.b.example.test", "example.test", True),
    ("CDN.Example.test", "example.TEST", True),
    ("example.test", "cdn.example.test", False),
    ("badexample.test", "example.test", False),
    ("::1%.example.test", "example.test", False),  # an IPv6 zone is not a subdomain
    ("::1", "::1", True),
])
def test_is_domain_or_subdomain(host: str, parent: str, expected: bool) -> None:
    assert is_domain_or_subdomain(host, parent) is expected
