"""Formats in and out, EXIF orientation, animation, metadata and headers."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import pyvips

from imgproxy_py.imaging.codecs import bmp, ico
from tests.conftest import asset, decode
from tests.servers import AppServer, Origin

INPUTS = ["hopper.jpg", "hopper.png", "hopper.webp", "hopper.avif", "hopper.gif",
          "hopper.tif", "hopper.iccprofile.tif", "16bit.deflate.tif", "pil_sample_cmyk.jpg", "pil123p.png"]
OUTPUTS = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif",
           "gif": "image/gif", "tiff": "image/tiff", "ico": "image/x-icon", "bmp": "image/bmp"}


def local(server: AppServer, options: str, name: str, ext: str = "") -> str:
    return f"{server.base}/unsafe/{options}/plain/local:///core/{name}{'@' + ext if ext else ''}"


def load_result(body: bytes, content_type: str) -> pyvips.Image:
    if content_type == "image/x-icon":
        return ico.load_ico(body, max_pixels=1 << 20)
    if content_type == "image/bmp":
        return bmp.load_bmp(body, max_pixels=1 << 20)
    return decode(body)


@pytest.mark.parametrize("name", INPUTS)
@pytest.mark.parametrize("ext", list(OUTPUTS))
def test_every_format_in_and_out(client: httpx.Client, server: AppServer, name: str, ext: str) -> None:
    response = client.get(local(server, "rs:fit:64:64", name, ext))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == OUTPUTS[ext]
    img = load_result(response.content, OUTPUTS[ext])
    assert max(img.width, img.height) == 64


@pytest.mark.parametrize("name", INPUTS)
def test_no_format_keeps_the_source_format(client: httpx.Client, server: AppServer, name: str) -> None:
    response = client.get(local(server, "rs:fit:32:32", name))
    assert response.status_code == 200, response.text
    expected = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif",
                "gif": "image/gif", "tif": "image/tiff"}[name.rsplit(".", 1)[1]]
    assert response.headers["content-type"] == expected


def pixels(img: pyvips.Image) -> np.ndarray:
    img = img.colourspace("srgb").extract_band(0, n=3)
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8,
                      shape=[img.height, img.width, 3]).astype(float)


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_is_applied(client: httpx.Client, server: AppServer, orientation: int) -> None:
    upright = decode(client.get(local(server, "rs:fit:64:64", "hopper.jpg", "png")).content)
    rotated = client.get(local(server, "rs:fit:64:64", f"hopper_orientation_{orientation}.jpg", "png"))
    result = decode(rotated.content)
    assert (result.width, result.height) == (upright.width, upright.height)
    assert np.abs(pixels(result) - pixels(upright)).mean() < 12
    # ar:0 leaves the stored pixels as they are: they differ from the upright image.
    raw = decode(client.get(local(server, "rs:fit:64:64/ar:0",
                                  f"hopper_orientation_{orientation}.jpg", "png")).content)
    assert np.abs(pixels(raw) - pixels(upright)).mean() > 12


@pytest.fixture(scope="module")
def animated_server(start_server) -> AppServer:  # type: ignore[no-untyped-def]
    return start_server(IMGPROXY_MAX_ANIMATION_FRAMES="100", IMGPROXY_TIMEOUT="60")


@pytest.mark.parametrize(("name", "ext"), [("iss634.gif", ""), ("iss634.webp", ""), ("iss634.gif", "webp"),
                                           ("iss634.webp", "gif")])
def test_animation_is_kept(client: httpx.Client, animated_server: AppServer, name: str, ext: str) -> None:
    response = client.get(local(animated_server, "rs:fill:100:80", name, ext))
    assert response.status_code == 200, response.text
    img = pyvips.Image.new_from_buffer(response.content, "", n=-1)
    assert img.get("n-pages") > 10
    assert (img.width, img.get("page-height")) == (100, 80)
    assert img.height == 80 * img.get("n-pages")


def test_animation_off_by_default_and_with_da(client: httpx.Client, server: AppServer,
                                              animated_server: AppServer) -> None:
    for url in (local(server, "rs:fit:100:100", "iss634.gif"),
                local(animated_server, "rs:fit:100:100/da:1", "iss634.gif")):
        img = pyvips.Image.new_from_buffer(client.get(url).content, "", n=-1)
        assert img.get("n-pages") == 1 and img.height == 100


def test_animated_to_jpeg_takes_first_frame(client: httpx.Client, animated_server: AppServer) -> None:
    response = client.get(local(animated_server, "rs:fit:100:100", "iss634.gif", "jpg"))
    assert response.headers["content-type"] == "image/jpeg"
    assert decode(response.content).height == 100


def test_metadata_is_stripped_by_default(client: httpx.Client, server: AppServer) -> None:
    source = pyvips.Image.new_from_file(str(asset("exif_gps.jpg")))
    assert any(f.startswith("exif-ifd2") or "GPS" in f for f in source.get_fields())
    stripped = decode(client.get(local(server, "rs:fit:50:50", "exif_gps.jpg")).content)
    private = ("exif-ifd3-", "exif-ifd0-Make", "exif-ifd0-Model", "exif-ifd2-DateTimeOriginal")
    assert not any(f.startswith(private) for f in stripped.get_fields())
    kept = decode(client.get(local(server, "rs:fit:50:50/sm:0", "exif_gps.jpg")).content)
    assert any(f.startswith("exif-ifd3-GPS") for f in kept.get_fields())


def test_keep_copyright_keeps_only_copyright(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    img = pyvips.Image.new_from_file(str(asset("hopper.jpg"))).copy()
    img.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Copyright", "Jane Doe 2026")
    img.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Make", "SecretCam")
    url = origin.add("/formats/copyright.jpg", bytes(img.jpegsave_buffer()))
    kept = decode(client.get(f"{server.base}/unsafe/rs:fit:50:50/plain/{url}").content)
    assert "Jane Doe 2026" in str(kept.get("exif-ifd0-Copyright"))
    assert not kept.get_typeof("exif-ifd0-Make")
    gone = decode(client.get(f"{server.base}/unsafe/rs:fit:50:50/kcr:0/plain/{url}").content)
    assert not gone.get_typeof("exif-ifd0-Copyright")


def test_transparent_padding_and_background(client: httpx.Client, server: AppServer) -> None:
    png = decode(client.get(local(server, "rs:fit:64:64/pd:8", "hopper.jpg", "png")).content)
    assert png.bands == 4 and png(0, 0)[3] == 0 and png(32, 32)[3] == 255
    jpg = decode(client.get(local(server, "rs:fit:64:64/pd:8/bg:ff0000", "hopper.jpg", "jpg")).content)
    r, g, b = jpg(1, 1)[:3]
    assert r > 200 and g < 60 and b < 60
    white = decode(client.get(local(server, "rs:fit:64:64/pd:8", "hopper.jpg", "jpg")).content)
    assert min(white(1, 1)[:3]) > 240  # JPEG has no alpha: imgproxy's white background


def test_effects_change_pixels(client: httpx.Client, server: AppServer) -> None:
    base = pixels(decode(client.get(local(server, "rs:fit:128:128", "hopper.jpg", "png")).content))
    for option in ("bl:4", "sh:2", "pix:8"):
        out = pixels(decode(client.get(local(server, f"rs:fit:128:128/{option}", "hopper.jpg", "png")).content))
        assert out.shape == base.shape
        assert np.abs(out - base).mean() > 1.0, option
    pix = pixels(decode(client.get(local(server, "rs:fit:128:128/pix:8", "hopper.jpg", "png")).content))
    assert (pix[0:8, 0:8] == pix[0, 0]).all()  # one flat 8x8 block


def test_svg_is_sanitized_and_passed_through(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" onload="alert(1)">'
           b'<script>alert(2)</script><rect width="40" height="20" fill="red"/>'
           b'<form action="https://phish.example/"><input name="password"/></form></svg>')
    url = origin.add("/formats/a.svg", svg)
    response = client.get(f"{server.base}/unsafe/rs:fit:10:10/plain/{url}")
    assert response.headers["content-type"] == "image/svg+xml"
    assert b"script" not in response.content and b"onload" not in response.content
    assert b"form" not in response.content and b"password" not in response.content  # as imgproxy 4.0.6
    assert b"rect" in response.content
    png = client.get(f"{server.base}/unsafe/rs:fit:80:80:1/plain/{url}@png")
    img = decode(png.content)
    assert (img.width, img.height) == (80, 40)
    assert img(40, 20)[0] > 200


@pytest.mark.parametrize(("size", "pixels"), [("60", 60), ("60px", 60), ("45pt", 60), ("1in", 96), ("2.54cm", 96)])
def test_svg_renders_at_96_dpi(client: httpx.Client, server: AppServer, origin: Origin, size: str,
                               pixels: int) -> None:
    # imgproxy 4 renders SVGs at the W3C's 96 dpi: pixel sizes as they are, an inch 96 px, a point
    # 4/3 px (imgproxy 3 and libvips' default: 72 dpi, an inch 72 px).  /info reads the same size.
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">'
           '<rect width="100%" height="50%" fill="red"/></svg>').encode()
    url = origin.add(f"/formats/dpi-{size}.svg", svg)
    img = decode(client.get(f"{server.base}/unsafe/plain/{url}@png").content)
    assert (img.width, img.height) == (pixels, pixels)
    assert img(pixels // 2, pixels // 4)[0] > 200 and img(pixels // 2, pixels * 3 // 4)[3] == 0
    doubled = decode(client.get(f"{server.base}/unsafe/rs:fit:0:0/dpr:2/plain/{url}@png").content)
    assert doubled.width == 2 * pixels  # a vector source enlarges on load
    info = client.get(f"{server.base}/info/unsafe/plain/{url}").json()
    assert (info["width"], info["height"]) == (pixels, pixels)


def test_svg_animations_cannot_make_a_link_a_script(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    """SMIL that sets a link's href later, a tab inside "javascript:" (browsers ignore it) and a
    script URL in a values list are removed; other animations stay."""
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
           b'<a><set attributeName="href" to="#ok"/><rect width="10" height="10"/></a>'
           b'<a><animate attributeName="xlink:href" values="#a;javascript:alert(1)"/><rect width="5" height="5"/></a>'
           b'<rect width="40" height="20" fill="red" data-u="java&#9;script:alert(2)" data-v="#a; vbscript:x">'
           b'<animate attributeName="fill" values="red;blue" dur="1s"/></rect></svg>')
    response = client.get(f"{server.base}/unsafe/plain/{origin.add('/formats/smil.svg', svg)}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    body = response.content.lower()
    assert b"<set" not in body and b"script" not in body and b"data-u" not in body and b"data-v" not in body
    assert b'attributename="fill"' in body and body.count(b"<rect") == 3


@pytest.mark.parametrize(("levels", "status"), [(255, 200), (256, 422), (50_000, 422)])
@pytest.mark.parametrize("ext", ["", "@png"])
def test_svg_nested_past_librsvgs_limit_is_unprocessable(client: httpx.Client, server: AppServer, origin: Origin,
                                                         levels: int, status: int, ext: str) -> None:
    """libxml2 (under librsvg) refuses a document more than 256 levels deep; the sanitizer, whose
    walk recursed once per level, answered 500 from 1,000 levels on (a 7 KB file)."""
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">' + b"<g>" * levels
           + b'<rect width="40" height="20" fill="red"/>' + b"</g>" * levels + b"</svg>")
    url = origin.add(f"/formats/deep-{levels}.svg", svg)
    info = client.get(f"{server.base}/info/unsafe/plain/{url}")
    response = client.get(f"{server.base}/unsafe/plain/{url}{ext}")
    assert (info.status_code, response.status_code) == (status, status)
    if status == 200 and ext:
        assert decode(response.content).getpoint(20, 10)[:3] == [255, 0, 0]


@pytest.mark.parametrize(("view_box", "status"), [("0 0 1e9 1e9", 422), ("0 0 1e30 1e30", 422),
                                                  ("0 0 1.4 1.4", 200), ("0 0 2e7 1e7", 200)])
def test_svg_past_what_libvips_can_size_is_unprocessable(client: httpx.Client, server: AppServer, origin: Origin,
                                                         view_box: str, status: int) -> None:
    """An SVG sized by its viewBox past 2^31 px loaded as a 1x1 image (libvips can't set its size):
    a wrong picture, now a 422; a true 1x1 SVG and a large one libvips can size still render."""
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view_box}">'
           '<rect width="50%" height="50%" fill="red"/></svg>')
    url = origin.add(f"/formats/viewbox-{view_box.replace(' ', '_')}.svg", svg.encode())
    response = client.get(f"{server.base}/unsafe/rs:fit:100:100/plain/{url}@png")
    as_it_is = client.get(f"{server.base}/unsafe/plain/{url}@png")
    info = client.get(f"{server.base}/info/unsafe/plain/{url}")
    assert (response.status_code, info.status_code) == (status, status)
    assert as_it_is.status_code == status
    if view_box == "0 0 2e7 1e7":  # 2e14 px: rendered to fit the 50 MP source limit (vector_guard_scale)
        whole = pyvips.Image.new_from_buffer(as_it_is.content, "")  # the header only
        assert (whole.width, whole.height) == (10000, 5000)
    if status == 200:
        img = decode(response.content)  # a vector source enlarges on load
        assert max(img.width, img.height) == 100 and img.getpoint(10, 10)[:3] == [255, 0, 0]


def test_svg_past_the_source_limit_is_rendered_to_fit_it(client: httpx.Client, origin: Origin,
                                                          start_server) -> None:  # type: ignore[no-untyped-def]
    """imgproxy's vector guard: an SVG larger than IMGPROXY_MAX_SRC_RESOLUTION is rendered that much
    smaller (not refused, not rendered whole), and sized from there."""
    limited = start_server(IMGPROXY_MAX_SRC_RESOLUTION="1")  # 1 MP
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="2000">'
           b'<rect width="2000" height="2000" fill="red"/>'
           b'<rect x="2000" width="2000" height="2000" fill="blue"/></svg>')
    url = origin.add("/formats/guarded.svg", svg)
    whole = client.get(f"{limited.base}/unsafe/plain/{url}@png")
    assert whole.status_code == 200
    img = decode(whole.content)
    assert (img.width, img.height) == (1414, 707)  # sqrt(8 MP / 1 MP) smaller
    assert img.getpoint(300, 300)[:3] == [255, 0, 0] and img.getpoint(1100, 300)[:3] == [0, 0, 255]
    half = decode(client.get(f"{limited.base}/unsafe/rs:fit:0:0/pd:10/plain/{url}@png").content)
    assert (half.width, half.height) == (1434, 727)
    small = decode(client.get(f"{limited.base}/unsafe/rs:fit:200:200/plain/{url}@png").content)
    assert (small.width, small.height) == (200, 100)
    info = client.get(f"{limited.base}/info/unsafe/plain/{url}").json()
    assert (info["width"], info["height"]) == (4000, 2000)  # /info reports the source's own size


def test_response_headers(client: httpx.Client, server: AppServer) -> None:
    response = client.get(local(server, "rs:fit:32:32/fn:kitten", "hopper.jpg", "webp"))
    assert response.headers["cache-control"] == "max-age=31536000, public"
    assert response.headers["content-disposition"] == 'inline; filename="kitten.webp"'
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"  # imgproxy 4's
    assert response.headers["content-security-policy"] == csp
    assert len(response.headers["x-request-id"]) >= 8
    missing = client.get(local(server, "rs:fit:32:32", "no-such-file.jpg"))
    assert missing.status_code == 404
    assert missing.headers["content-security-policy"] == csp
    assert missing.headers["cache-control"] == "no-cache"
    attachment = client.get(local(server, "rs:fit:32:32/att:1", "hopper.jpg"))
    assert attachment.headers["content-disposition"] == 'attachment; filename="hopper.jpg"'
    head = client.head(local(server, "rs:fit:32:32", "hopper.jpg"))
    assert head.status_code == 200 and head.content == b""
    assert client.options(local(server, "rs:fit:32:32", "hopper.jpg")).status_code == 200
    assert client.get(f"{server.base}/health").status_code == 200


def test_expires_caps_cache_control(client: httpx.Client, server: AppServer) -> None:
    import time

    expires = int(time.time()) + 100
    response = client.get(local(server, f"rs:fit:32:32/exp:{expires}", "hopper.jpg"))
    max_age = int(response.headers["cache-control"].split("=")[1].split(",")[0])
    assert 90 <= max_age <= 100


def test_auto_webp_and_avif_from_accept(client: httpx.Client, start_server) -> None:  # type: ignore[no-untyped-def]
    auto = start_server(IMGPROXY_AUTO_WEBP="true", IMGPROXY_AUTO_AVIF="true")
    url = local(auto, "rs:fit:32:32", "hopper.jpg")
    assert client.get(url, headers={"Accept": "image/webp"}).headers["content-type"] == "image/webp"
    avif = client.get(url, headers={"Accept": "image/avif,image/webp"})
    assert avif.headers["content-type"] == "image/avif" and "Accept" in avif.headers["vary"]
    assert client.get(url).headers["content-type"] == "image/jpeg"
    enforce = start_server(IMGPROXY_ENFORCE_WEBP="true")
    forced = client.get(local(enforce, "rs:fit:32:32", "hopper.jpg", "png"), headers={"Accept": "image/webp"})
    assert forced.headers["content-type"] == "image/webp"


def test_watermark(client: httpx.Client, start_server) -> None:  # type: ignore[no-untyped-def]
    import base64

    mark = pyvips.Image.black(20, 20, bands=3).new_from_image([0, 0, 255]).cast("uchar").bandjoin(255)
    data = base64.b64encode(bytes(mark.copy(interpretation="srgb").pngsave_buffer())).decode()
    wm_server = start_server(IMGPROXY_WATERMARK_DATA=data)
    plain = decode(client.get(local(wm_server, "rs:fit:128:128", "hopper.jpg", "png")).content)
    marked = decode(client.get(local(wm_server, "rs:fit:128:128/wm:1:soea", "hopper.jpg", "png")).content)
    assert marked(120, 120)[2] > 200 and marked(120, 120)[0] < 60  # blue in the corner
    assert np.abs(pixels(marked)[:80, :80] - pixels(plain)[:80, :80]).max() == 0  # untouched elsewhere
    tiled = decode(client.get(local(wm_server, "rs:fit:128:128/wm:1:re", "hopper.jpg", "png")).content)
    blue = pixels(tiled)[:, :, 2] > 200
    assert blue.mean() > 0.9  # 20x20 tiles with no gap cover everything
    half = decode(client.get(local(wm_server, "rs:fit:128:128/wm:0.5:nowe", "hopper.jpg", "png")).content)
    assert 60 < half(5, 5)[2] < 230


def test_watermark_from_url(client: httpx.Client, start_server, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    mark = pyvips.Image.black(20, 20, bands=3).new_from_image([0, 0, 255]).cast("uchar").bandjoin(255)
    url = origin.add("/formats/watermark.png", bytes(mark.copy(interpretation="srgb").pngsave_buffer()))
    wm_server = start_server(IMGPROXY_WATERMARK_URL=url)
    # Fetched while the server was built, before it took a request.
    assert wm_server.services.processor.deps.watermark is not None
    assert origin.count("/formats/watermark.png") == 1
    marked = decode(client.get(local(wm_server, "rs:fit:128:128/wm:1:soea", "hopper.jpg", "png")).content)
    assert marked(120, 120)[2] > 200 and marked(120, 120)[0] < 60  # blue in the corner
    assert origin.count("/formats/watermark.png") == 1  # fetched once, not per request


def test_watermark_url_that_fails_stops_the_start(origin: Origin) -> None:
    from imgproxy_py.config import load_config
    from imgproxy_py.errors import ConfigError
    from imgproxy_py.server.composition import build_services
    from tests.conftest import BASE_ENV

    env = {**BASE_ENV, "IMGPROXY_WATERMARK_URL": origin.url("/formats/no-such-watermark.png")}
    with pytest.raises(ConfigError, match="IMGPROXY_WATERMARK_URL"):
        build_services(load_config(env))


def test_bmp_result_keeps_transparency(client: httpx.Client, server: AppServer) -> None:
    """imgproxy 4 writes BMP with alpha (32-bit); the transparent padding stays transparent and
    the picture opaque."""
    response = client.get(local(server, "rs:fit:64:64/pd:10", "hopper.png", "bmp"))
    assert response.status_code == 200, response.text
    img = bmp.load_bmp(response.content, max_pixels=1 << 20)
    assert (img.width, img.height, img.bands) == (84, 84, 4)
    assert img.extract_band(3).getpoint(0, 0) == [0.0]
    assert img.extract_band(3).getpoint(42, 42) == [255.0]
