"""``/info`` reads its options with its own registry, through the real server."""

from __future__ import annotations

import httpx

from tests.servers import AppServer

SOURCE = "local:///core/hopper.jpg"


def test_info_options_are_not_processing_options(client: httpx.Client, server: AppServer) -> None:
    plain = client.get(f"{server.base}/info/unsafe/cb:x/plain/{SOURCE}")
    assert plain.status_code == 200 and {"width", "height", "format"} <= plain.json().keys()
    resize = client.get(f"{server.base}/info/unsafe/rs:fit:10:10/plain/{SOURCE}")
    assert resize.status_code == 404 and "Unknown info option: rs" in resize.text


def test_every_info_option_is_answered(client: httpx.Client, server: AppServer) -> None:
    response = client.get(f"{server.base}/info/unsafe/s:1/bh:4:3/th:1/ph:1/p:4/cs:1/plain/{SOURCE}")
    assert response.status_code == 200
    assert {"size", "blurhash", "thumb_hash", "perceptual_hash", "palette", "colorspace"} <= response.json().keys()
    assert client.get(f"{server.base}/info/unsafe/bh:10:3/plain/{SOURCE}").status_code == 404


REFUSED = [("p:1", "palette"), ("bh:10:1", "blurhash"), ("chs:crc32", "calc_hashsums"), ("c:1:1:nowhere", "crop"),
           ("op:sm", "objects_position"), ("hs:md5", "hashsum"), ("a:1:1:1", "alpha"), ("cl:-1", "classify"),
           ("exif:1:1:1", "exif"), ("pr:nope", "Unknown info preset: nope"), ("dominant:1", "Unknown info option")]


def test_refused_forms_are_404_naming_the_problem(client: httpx.Client, server: AppServer) -> None:
    for options, named in REFUSED:
        response = client.get(f"{server.base}/info/unsafe/{options}/plain/{SOURCE}")
        assert response.status_code == 404 and named in response.text, (options, response.text)
