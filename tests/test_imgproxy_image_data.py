"""imgproxy's own tests of downloading a source (``imagedata/image_data_test.go``, imgproxy v4
commit eef3b312, Apache-2.0), run against our server and a loopback origin.

``Factory.DownloadSync(url)`` is a request for ``/unsafe/plain/<url>``: success is a 200 with
the decoded image (``imgdata.Format() == JPEG``: a JPEG the size of ``test1.jpg``), an error
is the status imgproxy's error carries, which our server answers.  The origin's answers are our
``Origin``'s, each case on a path of its own; ``test1.jpg`` is imgproxy's ``testdata`` file
(``tests/assets/imgproxy/``)."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable

import httpx
import pytest
import pyvips

from tests.servers import ASSETS, AppServer, Origin

DATA = (ASSETS / "imgproxy" / "test1.jpg").read_bytes()
SIZE = len(DATA)
SOURCE = pyvips.Image.new_from_buffer(DATA, "")


def fetch(server: AppServer, client: httpx.Client, origin: Origin, status: int, body: bytes,
          headers: dict[str, str] | None = None) -> httpx.Response:
    """A source URL answered by the origin as given, through the image endpoint."""
    url = origin.add(f"/image-data/{uuid.uuid4().hex}.jpg", body, status, headers)
    return client.get(f"{server.base}/unsafe/plain/{url}")


def assert_the_image(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    result = pyvips.Image.new_from_buffer(response.content, "")
    assert result.get("vips-loader") == "jpegload_buffer"
    assert (result.width, result.height) == (SOURCE.width, SOURCE.height)


def test_download_status_ok(server: AppServer, client: httpx.Client, origin: Origin) -> None:
    """TestDownloadStatusOK"""
    assert_the_image(fetch(server, client, origin, 200, DATA, {"Content-Type": "image/jpeg"}))


@pytest.mark.parametrize(("content_range", "expect_error"), [
    pytest.param(f"bytes 0-{SIZE - 1}/{SIZE}", False, id="Full Content-Range"),
    pytest.param(f"bytes 0-{SIZE - 2}/{SIZE}", True, id="Partial Content-Range, early end"),
    pytest.param(f"bytes 1-{SIZE - 1}/{SIZE}", True, id="Partial Content-Range, late start"),
    pytest.param("bytes 0-0/0", True, id="Zero Content-Range"),
    pytest.param("invalid", True, id="Invalid Content-Range"),
    pytest.param(f"bytes */{SIZE}", True, id="Unknown Content-Range range"),
    pytest.param(f"bytes 0-{SIZE - 1}/*", False, id="Unknown Content-Range size, full range"),
    pytest.param(f"bytes 0-{SIZE - 2}/*", True, id="Unknown Content-Range size, early end"),
    pytest.param(f"bytes 1-{SIZE - 1}/*", True, id="Unknown Content-Range size, late start"),
])
def test_download_status_partial_content(server: AppServer, client: httpx.Client, origin: Origin,
                                         content_range: str, expect_error: bool) -> None:
    """TestDownloadStatusPartialContent: a 206 is taken only when it holds the whole image."""
    response = fetch(server, client, origin, 206, DATA, {"Content-Range": content_range})
    if expect_error:
        assert response.status_code == 404
        assert response.text == "Source is unreachable"
    else:
        assert_the_image(response)


@pytest.mark.parametrize(("status", "body", "expected"), [
    pytest.param(404, b"Not Found", 404, id="TestDownloadStatusNotFound"),
    pytest.param(403, b"Forbidden", 403, id="TestDownloadStatusForbidden"),
    pytest.param(500, b"Internal Server Error", 502, id="TestDownloadStatusInternalServerError"),
    pytest.param(204, b"", 404, id="no content (ours: a 2xx other than 200 and 206 is no image, as imgproxy's)"),
])
def test_download_error_status(server: AppServer, client: httpx.Client, origin: Origin, status: int, body: bytes,
                               expected: int) -> None:
    response = fetch(server, client, origin, status, body, {"Content-Type": "text/plain"})
    assert response.status_code == expected


def test_download_unreachable(server: AppServer, client: httpx.Client) -> None:
    """TestDownloadUnreachable: nothing listens on the port."""
    response = client.get(f"{server.base}/unsafe/plain/http://127.0.0.1:1/test1.jpg")
    assert response.status_code == 404


def test_download_invalid_image(server: AppServer, client: httpx.Client, origin: Origin) -> None:
    """TestDownloadInvalidImage"""
    assert fetch(server, client, origin, 200, b"invalid").status_code == 422


def test_download_source_address_not_allowed(start_server: Callable[..., AppServer], client: httpx.Client,
                                             origin: Origin) -> None:
    """TestDownloadSourceAddressNotAllowed: a loopback origin with loopback sources refused."""
    strict = start_server(IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES="false")
    assert fetch(strict, client, origin, 200, DATA).status_code == 404


def test_download_image_file_too_large(start_server: Callable[..., AppServer], client: httpx.Client,
                                       origin: Origin) -> None:
    """TestDownloadImageFileTooLarge: IMGPROXY_MAX_SRC_FILE_SIZE=1."""
    small = start_server(IMGPROXY_MAX_SRC_FILE_SIZE="1")
    assert fetch(small, client, origin, 200, DATA).status_code == 422


def test_download_gzip(server: AppServer, client: httpx.Client, origin: Origin) -> None:
    """TestDownloadGzip: a gzip-encoded body is the image once decoded."""
    assert_the_image(fetch(server, client, origin, 200, gzip.compress(DATA), {"Content-Encoding": "gzip"}))


def test_from_file(server: AppServer, client: httpx.Client) -> None:
    """TestFromFile: a local file (``local://`` under IMGPROXY_LOCAL_FILESYSTEM_ROOT)."""
    assert_the_image(client.get(f"{server.base}/unsafe/plain/local:///imgproxy/test1.jpg"))
