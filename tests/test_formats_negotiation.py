"""JPEG XL negotiation (Accept, IMGPROXY_AUTO_JXL/ENFORCE_JXL), the ``best`` format,
``preserve_hdr``, PDF ``pages`` and /info on the new formats."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import imagecodecs
import numpy as np
import pypdfium2
import pytest
import pyvips

from tests.conftest import ASSETS, decode
from tests.servers import AppServer, Origin

DEMO = Path(__file__).resolve().parent.parent / "imgproxy_py" / "demo"
JXL_ACCEPT = {"Accept": "image/jxl,image/avif,image/webp,*/*"}


def local(server: AppServer, options: str, name: str, folder: str = "core") -> str:
    return f"{server.base}/unsafe/{options}/plain/local:///{folder}/{name}"


@pytest.fixture(scope="module")
def jxl_server(start_server) -> AppServer:  # type: ignore[no-untyped-def]
    return start_server(IMGPROXY_AUTO_JXL="true", IMGPROXY_JXL_EFFORT="3")


def test_auto_jxl_answers_jxl_to_clients_that_accept_it(client: httpx.Client, jxl_server: AppServer) -> None:
    url = local(jxl_server, "rs:fit:64:64", "hopper.jpg")
    response = client.get(url, headers=JXL_ACCEPT)
    assert response.headers["content-type"] == "image/jxl"
    assert "Accept" in response.headers["vary"]
    assert imagecodecs.jpegxl_decode(response.content).shape[:2] == (64, 64)
    assert client.get(url, headers={"Accept": "image/webp"}).headers["content-type"] == "image/jpeg"
    # An explicit format wins without ENFORCE_JXL.
    assert client.get(url + "@png", headers=JXL_ACCEPT).headers["content-type"] == "image/png"


def test_enforce_jxl_overrides_the_extension(start_server, client: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    server = start_server(IMGPROXY_ENFORCE_JXL="true")
    url = local(server, "rs:fit:64:64", "hopper.jpg@png")
    assert client.get(url, headers=JXL_ACCEPT).headers["content-type"] == "image/jxl"
    assert client.get(url).headers["content-type"] == "image/png"


def test_jxl_settings_are_checked(start_server) -> None:  # type: ignore[no-untyped-def]
    from imgproxy_py.config import read_config

    _, problems = read_config({"IMGPROXY_JXL_EFFORT": "12", "IMGPROXY_BEST_FORMAT_COMPLEXITY_THRESHOLD": "x"})
    assert any("IMGPROXY_JXL_EFFORT" in p for p in problems)
    assert any("IMGPROXY_BEST_FORMAT_COMPLEXITY_THRESHOLD" in p for p in problems)


@pytest.fixture(scope="module")
def best_server(start_server) -> AppServer:  # type: ignore[no-untyped-def]
    return start_server(IMGPROXY_AUTO_WEBP="true", IMGPROXY_AUTO_AVIF="true", IMGPROXY_AUTO_JXL="true")


@pytest.mark.parametrize(("path", "options"), [
    (DEMO / "coffee.jpg", "rs:fit:300:300"), (ASSETS / "core" / "pil123p.png", "")])
def test_best_is_the_smallest_of_comparable_candidates(client: httpx.Client, best_server: AppServer,
                                                       origin: Origin, path: Path, options: str) -> None:
    origin.add(f"/best/{path.name}", path.read_bytes())
    url = f"{best_server.base}/unsafe/{options}/plain/{origin.url('/best/' + path.name)}"
    best = client.get(url + "@best", headers=JXL_ACCEPT)
    assert best.status_code == 200, best.text
    # Each candidate at its own default quality, as best tries them (PNG losslessly).
    sizes = {ext: len(client.get(url + "@" + ext).content) for ext in ("jpg", "png", "gif")}
    assert best.headers["content-type"] != "image/jpeg"
    # A photo competes lossy (JPEG the one to beat), a graphic lossless (PNG and GIF).
    rivals = ("jpg", "png") if options else ("png", "gif")
    assert len(best.content) <= min(sizes[ext] for ext in rivals)
    # Without Accept, only the preferred formats (JPEG, PNG, GIF) compete.
    plain = client.get(url + "@best")
    assert plain.headers["content-type"] in ("image/jpeg", "image/png", "image/gif")
    assert len(plain.content) <= min(sizes[ext] for ext in rivals)


def test_a_palette_graphic_is_kept_near_lossless(client: httpx.Client, best_server: AppServer) -> None:
    source = decode((ASSETS / "core" / "pil123p.png").read_bytes()).colourspace("srgb")
    response = client.get(local(best_server, "f:best", "pil123p.png"), headers=JXL_ACCEPT)
    if response.headers["content-type"] == "image/jxl":
        result = pyvips.Image.new_from_array(imagecodecs.jpegxl_decode(response.content))
    else:
        result = decode(response.content)
    a = np.ndarray(buffer=source.extract_band(0, n=3).write_to_memory(), dtype=np.uint8,
                   shape=[source.height, source.width, 3])
    b = np.ndarray(buffer=result.extract_band(0, n=3).cast("uchar").write_to_memory(), dtype=np.uint8,
                   shape=[result.height, result.width, 3])
    # Lossless or near-lossless (a GIF palette may merge a few close colours).
    difference = np.abs(a.astype(int) - b)
    assert difference.mean() < 0.5 and np.percentile(difference, 99) <= 2


def test_best_by_default(start_server, client: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    server = start_server(IMGPROXY_BEST_FORMAT_BY_DEFAULT="true", IMGPROXY_AUTO_WEBP="true")
    response = client.get(local(server, "rs:fit:200:200", "hopper.png"), headers={"Accept": "image/webp"})
    png = client.get(local(server, "rs:fit:200:200", "hopper.png@png"))
    assert png.headers["content-type"] == "image/png"
    assert len(response.content) < len(png.content)


def test_preserve_hdr_keeps_16_bits_where_the_format_holds_them(client: httpx.Client, server: AppServer) -> None:
    kept = decode(client.get(local(server, "ph:1/rs:fit:64:64", "16bit.deflate.tif@png")).content)
    assert kept.format == "ushort"
    dropped = decode(client.get(local(server, "rs:fit:64:64", "16bit.deflate.tif@png")).content)
    assert dropped.format == "uchar"
    jpeg = client.get(local(server, "ph:1/rs:fit:64:64", "16bit.deflate.tif@jpg"))
    assert jpeg.status_code == 200 and decode(jpeg.content).format == "uchar"
    eight = decode(client.get(local(server, "ph:1/rs:fit:64:64", "hopper.png@png")).content)
    assert eight.format == "uchar"  # an 8-bit source stays 8-bit
    # Geometry, margins and the background keep 16 bits; steps written for 8 bits (filters,
    # watermarks) take the 8-bit fallback.
    turned = decode(client.get(local(server, "ph:1/rot:90/c:20:30/rs:fit:15:0", "16bit.deflate.tif@png")).content)
    assert (turned.format, turned.width, turned.height) == ("ushort", 15, 23)  # crop is in the turned frame
    padded = decode(client.get(local(server, "ph:1/rs:fit:64:64/pd:10", "16bit.deflate.tif@png")).content)
    assert (padded.format, padded.bands) == ("ushort", kept.bands + 1)  # transparent margins
    assert padded(0, 0)[-1] == 0 and padded(padded.width // 2, padded.height // 2)[-1] == 65535
    on_red = decode(client.get(local(server, "ph:1/rs:fit:64:64/pd:10/bg:255:0:0", "16bit.deflate.tif@png")).content)
    assert (on_red.format, on_red.interpretation, on_red(0, 0)) == ("ushort", "rgb16", [65535, 0, 0])
    for steps in ("bl:2", "sh:1", "bg:255:0:0/bga:0.5"):
        response = client.get(local(server, f"ph:1/{steps}", "16bit.deflate.tif@png"))
        assert response.status_code == 200 and decode(response.content).format == "uchar"


def test_preserve_hdr_setting(start_server, client: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    server = start_server(IMGPROXY_PRESERVE_HDR="true")
    assert decode(client.get(local(server, "rs:fit:64:64", "16bit.deflate.tif@tiff")).content).format == "ushort"
    assert decode(client.get(local(server, "ph:0/rs:fit:64:64", "16bit.deflate.tif@png")).content).format == "uchar"


@pytest.mark.parametrize(("option", "status"), [
    # imgproxy's booleans: anything but 1/t/true is false, never an error.
    ("ph:1", 200), ("preserve_hdr:false", 200), ("ph:2", 200), ("ph:1:2", 404),
    ("f:best", 200), ("f:BEST", 200), ("f:better", 404)])
def test_option_forms(client: httpx.Client, server: AppServer, option: str, status: int) -> None:
    response = client.get(local(server, option, "hopper.jpg"))
    assert response.status_code == status
    if status == 404:
        name = option.split(":")[0]
        assert {"ph": "preserve_hdr", "f": "format"}.get(name, name) in response.text


def test_pdf_pages_are_stacked_left_aligned() -> None:
    # The ``pages`` option (declared with the delivery options) reaches the renderer as ``pages``.
    from imgproxy_py.imaging.codecs.pdf import load_pdf

    doc = pypdfium2.PdfDocument.new()
    for width, height in [(200, 100), (300, 150), (100, 400)]:
        doc.new_page(width, height)
    out = io.BytesIO()
    doc.save(out)
    two = load_pdf(out.getvalue(), max_pixels=1 << 24, pages=2)
    assert (two.width, two.height, two.get("n-pages")) == (300, 250, 3)
    # From page 1, as many as there are, rendered at half size.
    half = load_pdf(out.getvalue(), max_pixels=1 << 24, page=1, pages=5, shrink=2)
    assert (half.width, half.height) == (150, 275)
    assert half.crop(60, 0, 90, 75).max() == 255  # white page 1 right of its 50-pixel-wide page 2


def test_info_names_the_new_formats(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    origin.add("/n/a.jxl", bytes(imagecodecs.jpegxl_encode(np.zeros((30, 40, 3), np.uint8), level=80)))
    info = client.get(f"{server.base}/info/unsafe/plain/{origin.url('/n/a.jxl')}").json()
    assert (info["format"], info["width"], info["height"]) == ("jxl", 40, 30)
    info = client.get(f"{server.base}/info/unsafe/plain/local:///core/hopper.heif").json()
    assert (info["format"], info["width"]) == ("heic", 128)
