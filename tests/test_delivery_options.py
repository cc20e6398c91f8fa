"""The delivery options as the parser reads them (accepted forms and their values; the refused
forms are in test_http_delivery.py, answered by the server), and the request's limits laid over
the server's."""

from __future__ import annotations

from typing import Any

import pytest

from imgproxy_py.config import load_config
from imgproxy_py.errors import InvalidURLError
from imgproxy_py.imaging.codecs.load import Limits
from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.request_limits import request_limits
from imgproxy_py.options.model import OutputOptions
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.options.values_delivery import HashsumCheck, SecurityOverrides, VideoFrames
from imgproxy_py.url.tokenizer import parse_path

CONFIG = load_config({"IMGPROXY_PRESETS": "tagged=ct:site"})
PARSER = OptionsParser(CONFIG)
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def output(path: str) -> OutputOptions:
    return PARSER.parse(parse_path(f"/unsafe/{path}/plain/http://example.com/a.jpg", CONFIG.url).options).output


ACCEPTED: list[tuple[str, str, Any]] = [
    ("pgs:1", "pages", 1),
    ("pages:12", "pages", 12),
    ("vtt:2:4:3:160:90", "video_tile", VideoFrames(2.0, 4, 3, 160, 90)),
    ("vtt:-1:2:2:64:64:t:1:true:0.2:0.8", "video_tile", VideoFrames(-1.0, 2, 2, 64, 64, True, True, True, 0.2, 0.8)),
    ("vtt:1.5:2:2:64:0:::1", "video_tile", VideoFrames(1.5, 2, 2, 64, 0, fill=True)),
    ("vtt:0:2:2:64:64", "video_tile", None),  # step 0: off
    ("vta:1:100:10:320:180", "video_animation", VideoFrames(1.0, 10, 1, 320, 180, delay=100)),
    ("video_thumbnail_animation:-2:0:3:0:90:1", "video_animation", VideoFrames(-2.0, 3, 1, 0, 90, True)),
    ("bc:1", "bypass_cache", True),
    ("bypass_cache:false", "bypass_cache", False),
    ("ct:a:b/ct:b:c", "cache_tags", ("a", "b", "c")),
    ("pr:tagged/ct:img", "cache_tags", ("site", "img")),
    ("hs:md5:" + MD5.upper(), "hashsum", HashsumCheck("md5", MD5)),
    ("hs:sha1:" + "a" * 40 + "/hs:none", "hashsum", None),
    ("hashsum:sha512:" + "0" * 128, "hashsum", HashsumCheck("sha512", "0" * 128)),
    ("msr:2.5", "security", SecurityOverrides(max_src_resolution=2_500_000)),
    ("msr:0.5/msfs:100/maf:3/mafr:0.25/mrd:0", "security", SecurityOverrides(500_000, 100, 3, 250_000, 0)),
    ("max_result_dimension:300/mrd:200", "security", SecurityOverrides(max_result_dimension=200)),
]


@pytest.mark.parametrize(("path", "field", "value"), ACCEPTED, ids=[p for p, _, _ in ACCEPTED])
def test_accepted_forms(path: str, field: str, value: Any) -> None:
    assert getattr(output(path), field) == value


@pytest.mark.parametrize("path", ["pgs:0", "pgs:-1", "vtt:x:2:2:64:64", "vtt:1:101:1:64:64", "vtt:1:20:20:64:64",
                                  "vtt:1:2:2:64:64:1:1:1:2", "vta:1:-5:2:64:64", "hs:md5:" + "0" * 31,
                                  "hs:sha256", "ct:", "ct:a:", "msr:x", "maf:-1", "msfs:-1", "mafr:-0.1"])
def test_refused_forms(path: str) -> None:
    with pytest.raises(InvalidURLError):
        output(path)


def test_bypass_and_tags_are_not_in_the_cache_key() -> None:
    plain = PARSER.canonical(PARSER.parse([("w", ["10"])]))
    assert PARSER.canonical(PARSER.parse([("w", ["10"]), ("bc", ["1"]), ("ct", ["x"])])) == plain
    assert PARSER.canonical(PARSER.parse([("w", ["10"]), ("mrd", ["5"])])) != plain
    assert PARSER.canonical(PARSER.parse([("w", ["10"]), ("vtt", ["1", "2", "2", "64", "64"])])) != plain


def test_request_limits_over_the_settings() -> None:
    limits, settings = Limits(50_000_000, 1, 0), ProcessingSettings(max_result_dimension=0)
    assert request_limits(limits, settings, SecurityOverrides()) == (limits, settings)
    new_limits, new_settings = request_limits(limits, settings, SecurityOverrides(
        max_src_resolution=1_000, max_animation_frames=4, max_result_dimension=64))
    assert new_limits == Limits(1_000, 4, 0)
    assert new_settings.max_result_dimension == 64
    raised, _ = request_limits(limits, settings, SecurityOverrides(max_animation_frame_resolution=2_000_000))
    assert raised == Limits(50_000_000, 1, 2_000_000)
    _, bigger = request_limits(limits, settings, SecurityOverrides(max_src_resolution=600_000_000))
    assert bigger.max_result_resolution >= 1_200_000_000  # room for a source at the raised limit
