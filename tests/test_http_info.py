"""``/info`` through the real server: header fields, metadata, digests, settings and source forms."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import pyvips

from tests.conftest import asset
from tests.servers import AppServer, Origin


def info(client: httpx.Client, server: AppServer, options: str, name: str, **kw: Any) -> dict[str, Any]:
    response = client.get(f"{server.base}/info/unsafe/{options}/plain/local:///core/{name}", **kw)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("name", ["hopper.jpg", "hopper.png", "hopper.webp", "iss634.gif", "hopper.tif",
                                  "pil_sample_cmyk.jpg", "16bit.deflate.tif"])
def test_defaults_are_imgproxys(client: httpx.Client, server: AppServer, name: str) -> None:
    body = info(client, server, "cb:1", name)
    data = asset(name).read_bytes()
    image = pyvips.Image.new_from_buffer(data, "")
    assert body["size"] == len(data)
    assert (body["width"], body["height"], body["orientation"]) == (image.width, image.get("page-height")
                                                                     if "page-height" in image.get_fields()
                                                                     else image.height, 1)
    assert body["format"] == {".jpg": "jpeg", ".png": "png", ".webp": "webp", ".gif": "gif",
                              ".tif": "tiff"}[asset(name).suffix]
    assert body["mime_type"] == f"image/{body['format']}"
    assert isinstance(body["exif"], dict) and isinstance(body["iptc"], dict) and isinstance(body["xmp"], dict)
    # Pixel options are off by default.
    assert not {"objects", "average", "palette", "blurhash", "crop", "colorspace", "hashsums"} & body.keys()


def test_switches_turn_fields_off(client: httpx.Client, server: AppServer) -> None:
    body = info(client, server, "s:0/f:0/d:0/exif:0/iptc:0/xmp:0/vm:0", "hopper.jpg")
    assert body == {}


@pytest.mark.parametrize("orientation", range(2, 9))
def test_dimensions_account_for_orientation(client: httpx.Client, server: AppServer, orientation: int) -> None:
    name = f"hopper_orientation_{orientation}.jpg"
    stored = pyvips.Image.new_from_file(str(asset(name)))
    body = info(client, server, "exif:0", name)
    turned = orientation >= 5
    size = (stored.height, stored.width) if turned else (stored.width, stored.height)
    assert (body["width"], body["height"], body["orientation"]) == (*size, orientation)


def test_exif_readable_and_canonical_names(client: httpx.Client, server: AppServer) -> None:
    readable = info(client, server, "exif:1", "iptc.jpg")["exif"]
    assert readable["Model"] == "N70-1" and readable["Manufacturer"] == "Nokia"
    assert readable["Date and Time (Original)"] == "2006:07:08 21:14:45"
    assert readable["Flash"] == "Flash did not fire"
    assert all(isinstance(v, str) for v in readable.values())
    canonical = info(client, server, "exif:1:1", "iptc.jpg")["exif"]
    assert canonical["DateTimeOriginal"] == "2006:07:08 21:14:45" and canonical["Make"] == "Nokia"
    assert canonical["ISOSpeedRatings"] == "125"
    assert info(client, server, "exif:1", "hopper.png")["exif"] == {}


def test_iptc_and_photoshop_resolution(client: httpx.Client, server: AppServer) -> None:
    body = info(client, server, "iptc:1", "iptc.jpg")
    assert body["iptc"]["Keywords"] == ["HvK", "2006", "summer", "July", "holiday", "Hungary", "Budapest"]
    assert body["iptc"]["City"] == "Budapest" and body["iptc"]["Country Name"] == "Hungary"
    resolution = info(client, server, "iptc:1", "pil_sample_cmyk.jpg")["photoshop"]["resolution"]
    assert resolution["XResolution"] == 72 and resolution["YResolution"] == 72
    assert resolution["XResolutionUnit"] == "inches" and resolution["WidthUnit"] == "cm"


def test_xmp_by_namespace_prefix(client: httpx.Client, server: AppServer) -> None:
    xmp = info(client, server, "xmp:1", "pil_sample_cmyk.jpg")["xmp"]
    assert xmp["dc"]["format"] == "image/jpeg"
    assert xmp["tiff"]["XResolution"] == "72/1"
    assert xmp["xap"]["CreatorTool"] == "Adobe Photoshop CS Macintosh"


HEADER_CASES = [
    ("pil_sample_cmyk.jpg", {"colorspace": "cmyk", "bands": 4, "sample_format": "uchar", "pages_number": 1,
                             "alpha": False}),
    ("16bit.deflate.tif", {"sample_format": "ushort", "alpha": False}),
    ("iss634.gif", {"colorspace": "srgb", "bands": 4, "pages_number": 42, "alpha": True, "transparency": False}),
    ("p_trns_single.png", {"alpha": True, "transparency": True}),
    ("hopper.jpg", {"colorspace": "srgb", "bands": 3, "alpha": False}),
]


@pytest.mark.parametrize(("name", "expected"), HEADER_CASES, ids=[c[0] for c in HEADER_CASES])
def test_colorspace_bands_sample_format_pages_alpha(client: httpx.Client, server: AppServer, name: str,
                                                    expected: dict[str, Any]) -> None:
    body = info(client, server, "cs:1/b:1/sf:1/pn:1/a:1:1", name)
    image = pyvips.Image.new_from_file(str(asset(name)))
    assert body["bands"] == image.bands and body["sample_format"] == image.format
    assert {k: body[k] for k in expected} == expected


def test_page_selects_the_frame(client: httpx.Client, server: AppServer) -> None:
    assert info(client, server, "pg:41/d:1", "iss634.gif")["width"] == 245
    response = client.get(f"{server.base}/info/unsafe/pg:42/plain/local:///core/iss634.gif")
    assert response.status_code == 422


def test_hashsums_against_hashlib(client: httpx.Client, server: AppServer) -> None:
    data = asset("hopper.jpg").read_bytes()
    body = info(client, server, "chs:md5:sha1:sha256:sha512", "hopper.jpg")
    assert body["hashsums"] == {kind: hashlib.new(kind, data).hexdigest() for kind in ("md5", "sha1", "sha256",
                                                                                         "sha512")}
    good = hashlib.sha256(data).hexdigest()
    assert info(client, server, f"hs:sha256:{good}", "hopper.jpg")["width"] == 128
    bad = client.get(f"{server.base}/info/unsafe/hs:sha256:{'0' * 64}/plain/local:///core/hopper.jpg")
    assert bad.status_code == 422


def test_source_forms_and_signature(client: httpx.Client, start_server: Callable[..., AppServer],
                                    origin: Origin) -> None:
    key, salt = "736563726574", "68656C6C6F"
    signed = start_server(IMGPROXY_KEY=key, IMGPROXY_SALT=salt)
    url = origin.add("/info/hopper.png", asset("hopper.png").read_bytes())
    from imgproxy_py.urls import InfoOptions, build_info_url

    encryption_key = "1eb5b0e971ad7f45324c1bb15c947cb207c43152fa5c6c7f35c4f36e0c18e0f1"
    encrypted = start_server(IMGPROXY_KEY=key, IMGPROXY_SALT=salt, IMGPROXY_SOURCE_URL_ENCRYPTION_KEY=encryption_key)
    for mode, target in (("plain", signed), ("base64", signed), ("encrypted", encrypted)):
        path = build_info_url(InfoOptions().size(False), url, key=key, salt=salt, source=mode,
                              encryption_key=encryption_key if mode == "encrypted" else None)
        response = client.get(f"{target.base}{path}")
        assert response.status_code == 200 and response.json()["format"] == "png", (mode, response.text)
        assert "size" not in response.json()
    source = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    assert client.get(f"{signed.base}/info/unsafe/{source}").status_code == 403


def test_info_settings(client: httpx.Client, start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_INFO_PRESETS="default=exif:0/iptc:0/xmp:0,sums=chs:md5",
                          IMGPROXY_ALLOWED_INFO_OPTIONS="pr,s,bc,msr,ct", IMGPROXY_ALLOW_BYPASS_CACHE="true",
                          IMGPROXY_ALLOW_SECURITY_OPTIONS="true", IMGPROXY_CACHE_TAGS_FORMAT="cloudflare")
    body = info(client, server, "pr:sums/s:0", "hopper.jpg")
    assert "exif" not in body and "size" not in body and len(body["hashsums"]["md5"]) == 32
    refused = client.get(f"{server.base}/info/unsafe/chs:md5/plain/local:///core/hopper.jpg")
    assert refused.status_code == 404 and "Forbidden info option: chs" in refused.text
    tagged = client.get(f"{server.base}/info/unsafe/bc:1/ct:a:b/plain/local:///core/hopper.jpg")
    assert tagged.status_code == 200 and tagged.headers["cache-tag"] == "a,b"
    assert "x-amz-meta-cache-tag" not in tagged.headers
    too_big = client.get(f"{server.base}/info/unsafe/msr:0.01/plain/local:///core/hopper.jpg")
    assert too_big.status_code == 422  # 128x128 is more than 0.01 MP


def test_security_and_bypass_options_need_their_settings(client: httpx.Client, server: AppServer) -> None:
    for options in ("msr:100", "msfs:100000", "bc:1"):
        response = client.get(f"{server.base}/info/unsafe/{options}/plain/local:///core/hopper.jpg")
        assert response.status_code == 403, options


def test_presets_only_mode(client: httpx.Client, start_server: Callable[..., AppServer]) -> None:
    server = start_server(IMGPROXY_INFO_ONLY_PRESETS="true", IMGPROXY_INFO_PRESETS="small=s:1/d:0,sums=chs:md5")
    response = client.get(f"{server.base}/info/unsafe/small:sums/plain/local:///core/hopper.jpg")
    body = response.json()
    assert response.status_code == 200 and "width" not in body and "md5" in body["hashsums"]
    # Image URLs keep their own mode (IMGPROXY_ONLY_PRESETS is off).
    assert client.get(f"{server.base}/unsafe/w:10/plain/local:///core/hopper.jpg").status_code == 200


def test_the_official_js_clients_urls(client: httpx.Client, server: AppServer) -> None:
    # generateImageInfoUrl's output for every info option it writes (imgproxy-js-core's tests).
    paths = ["bh:0:5/cb:empty/exif:t/f:t", "avg:t:f/do:t/dc:t:t/exp:4102444800/iptc:t/p:6/s:t",
             "cl:0", "chs:", "chs:md5:sha1", "c:10:10:nowe", "d:t/pn:1/pg:0/vm:t/vtk:f/vts:1/xmp:f", "ct:x"]
    for path in paths:
        response = client.get(f"{server.base}/info/unsafe/{path}/plain/local:///core/hopper.jpg")
        assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize("name", ["broken.png", "broken_data_stream.png", "decompression_bomb.gif",
                                  "decompression_bomb_extents.gif", "invalid-exif.jpg"])
def test_hostile_files_are_never_a_500(client: httpx.Client, server: AppServer, name: str) -> None:
    for options in ("cb:1", "avg:1/p:4/dc:1/bh:3:3/th:1/ph:1/a:1:1/c:10:10:sm/cs:1/pn:1"):
        response = client.get(f"{server.base}/info/unsafe/{options}/plain/local:///core/{name}", timeout=30)
        assert response.status_code in (200, 422), (name, options, response.status_code, response.text)
