"""The shipped presets are a base layer: there without configuration, replaced by name by the
admin's, off with IMGPROXY_BUNDLED_PRESETS=false, and never a `default`."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgproxy_py.config import load_config
from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.parser import OptionsParser


def parse(parser: OptionsParser, *tokens: tuple[str, tuple[str, ...]]) -> tuple[int, int]:
    pipeline = parser.parse(list(tokens)).pipelines[0]
    return pipeline.width, pipeline.height


def test_bundled_presets_need_no_configuration() -> None:
    parser = OptionsParser(load_config({}))
    assert parse(parser, ("pr", ("thumbnail",))) == (200, 200)
    assert "default" not in parser.presets


def test_admin_preset_replaces_the_bundled_one_of_that_name(tmp_path: Path) -> None:
    presets = tmp_path / "presets.conf"
    presets.write_text("thumbnail=rs:fill:64:48\n")
    problems: list[str] = []
    parser = OptionsParser(load_config({"IMGPROXY_PRESETS_PATH": str(presets)}), errors=problems)
    assert problems == []
    assert parse(parser, ("pr", ("thumbnail",))) == (64, 48)
    parser = OptionsParser(load_config({"IMGPROXY_PRESETS": "thumbnail=rs:fit:10:20"}))
    assert parse(parser, ("pr", ("thumbnail",))) == (10, 20)


def test_bundled_presets_can_be_turned_off() -> None:
    parser = OptionsParser(load_config({"IMGPROXY_BUNDLED_PRESETS": "false"}))
    with pytest.raises(InvalidURLError):
        parser.parse([("pr", ("thumbnail",))])


def test_plain_url_is_unchanged_by_bundled_presets() -> None:
    with_bundled = OptionsParser(load_config({}))
    without = OptionsParser(load_config({"IMGPROXY_BUNDLED_PRESETS": "false"}))
    tokens = [("rs", ("fill", "300", "200")), ("q", ("70",))]
    assert with_bundled.canonical(with_bundled.parse(tokens)) == without.canonical(without.parse(tokens))
