"""Which certificate authorities an https origin is verified against: the system's, as imgproxy's
Go reads them (``SSL_CERT_FILE``/``SSL_CERT_DIR`` included), else certifi's bundle."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import certifi
import httpx
import pytest

from imgproxy_py.sources.http import trust_store
from tests.conftest import asset
from tests.servers import AppServer, self_signed_origin

JPEG = asset("hopper.jpg").read_bytes()


@pytest.fixture(scope="module")
def company_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A company's own CA (its PEM) and an https origin on 127.0.0.1 it signed."""
    folder = tmp_path_factory.mktemp("company-ca")
    origin = self_signed_origin(folder)
    yield folder / "cert.pem", origin.add("/photo.jpg", JPEG)
    origin.close()


def test_an_origin_signed_by_a_ca_the_host_trusts(client: httpx.Client, company_ca: tuple[Path, str],
                                                  start_server: Callable[..., AppServer],
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca, url = company_ca
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # read at start-up, as Go reads it
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    trusting = start_server()
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.delenv("SSL_CERT_DIR")
    response = client.get(f"{trusting.base}/unsafe/rs:fit:32:32/plain/{url}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    # The public authorities alone don't vouch for it: unreachable, as imgproxy answers.
    assert client.get(f"{start_server().base}/unsafe/rs:fit:32:32/plain/{url}").status_code == 404
    lenient = start_server(IMGPROXY_IGNORE_SSL_VERIFICATION="true")
    assert client.get(f"{lenient.base}/unsafe/rs:fit:32:32/plain/{url}").status_code == 200


def test_certifis_authorities_where_the_system_has_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    bundled = ssl.create_default_context(cafile=certifi.where()).cert_store_stats()["x509_ca"]
    assert bundled > 100 and trust_store().cert_store_stats()["x509_ca"] == bundled


def test_the_systems_authorities_are_not_mixed_with_certifis(company_ca: tuple[Path, str],
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(company_ca[0]))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    assert trust_store().cert_store_stats()["x509_ca"] == 1
