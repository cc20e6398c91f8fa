"""``/info`` reads its options with its own registry, through the real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from imgproxy_py.cli import demo_environment
from imgproxy_py.options.info import INFO_OPTIONS, InfoOption
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


NOT_ON_THE_DEMO = {"preset": "names an info preset the admin defines",
                   "classify": "needs the admin's classification model (501 without one)",
                   "video_thumbnail_second": "a video option", "video_thumbnail_keyframes": "a video option"}


@pytest.fixture(scope="module")
def demo_server() -> Iterator[AppServer]:
    server = AppServer({k: v for k, v in demo_environment().items() if k != "IMGPROXY_BIND"})
    yield server
    server.close()


@pytest.mark.parametrize("spec", [s for s in INFO_OPTIONS if s.name not in NOT_ON_THE_DEMO],
                         ids=[s.name for s in INFO_OPTIONS if s.name not in NOT_ON_THE_DEMO])
def test_readme_example_is_answered_on_the_demo_images(client: httpx.Client, demo_server: AppServer,
                                                      spec: InfoOption[Any]) -> None:
    response = client.get(f"{demo_server.base}/info/unsafe/{spec.example}/plain/local:///{spec.source}")
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), dict)
