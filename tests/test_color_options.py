"""The colour and tone options' argument rules, as a table: what each accepted form sets in
the pipeline's options, and that each refused form is an error naming the option; ``co``'s
two meanings; presets and empty arguments that keep earlier values."""

from __future__ import annotations

from typing import Any

import pytest

from imgproxy_py.config import load_config
from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.model import Color, CropObjects, PipelineOptions
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.options.values_color import Colorize, Duotone, Gradient, Monochrome
from imgproxy_py.url.tokenizer import parse_path

BLACK, WHITE, RED, GREY = Color(0, 0, 0), Color(255, 255, 255), Color(255, 0, 0), Color(179, 179, 179)
CONFIG = load_config({"IMGPROXY_PRESETS": "warm=mc:0.5:ffa000,tilt=gr:0.5:f00:left"})


def pipeline(options: str, config: Any = CONFIG) -> PipelineOptions:
    parsed = parse_path(f"/unsafe/{options}/plain/http://x/y.jpg", config.url)
    return OptionsParser(config).parse(parsed.options).pipelines[0]


# (options in a URL, the pipeline fields they set)
ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("bga:0.5", {"background_alpha": 0.5}),
    ("background_alpha:0", {"background_alpha": 0.0}),
    ("bga:1", {"background_alpha": 1.0}),
    ("a:10:1.5:0.5", {"brightness": 10, "contrast": 1.5, "saturation": 0.5}),
    ("adjust:-255", {"brightness": -255, "contrast": 1.0, "saturation": 1.0}),
    ("a::2", {"brightness": 0, "contrast": 2.0}),
    ("a:", {"brightness": 0, "contrast": 1.0, "saturation": 1.0}),
    ("br:30/a::1.2", {"brightness": 30, "contrast": 1.2}),  # empty keeps the earlier value
    ("co:1.5", {"contrast": 1.5}),
    ("contrast:0", {"contrast": 0.0}),
    ("co:.5", {"contrast": 0.5}),
    ("sa:0", {"saturation": 0.0}),
    ("saturation:2.5", {"saturation": 2.5}),
    ("mc:0.5", {"monochrome": Monochrome(0.5, GREY)}),
    ("monochrome:1:f00", {"monochrome": Monochrome(1.0, RED)}),
    ("mc:1:", {"monochrome": Monochrome(1.0, GREY)}),
    ("mc:0:f00", {"monochrome": None}),
    ("mc:1:f00/mc:0.5", {"monochrome": Monochrome(0.5, RED)}),
    ("dt:1", {"duotone": Duotone(1.0, BLACK, WHITE)}),
    ("duotone:0.3:ff0000:000", {"duotone": Duotone(0.3, RED, BLACK)}),
    ("dt:1::ff0000", {"duotone": Duotone(1.0, BLACK, RED)}),
    ("dt:0", {"duotone": None}),
    ("col:0.5", {"colorize": Colorize(0.5, BLACK, False)}),
    ("colorize:1:ff0000:1", {"colorize": Colorize(1.0, RED, True)}),
    ("col:0.2::true", {"colorize": Colorize(0.2, BLACK, True)}),
    ("col:0:f00", {"colorize": None}),
    ("gr:0.5", {"gradient": Gradient(0.5, BLACK)}),
    ("gradient:1:fff:up:0.2:0.8", {"gradient": Gradient(1.0, WHITE, 180.0, 0.2, 0.8)}),
    ("gr:1::right", {"gradient": Gradient(1.0, BLACK, 270.0)}),
    ("gr:1::left", {"gradient": Gradient(1.0, BLACK, 90.0)}),
    ("gr:1::down", {"gradient": Gradient(1.0, BLACK, 0.0)}),
    ("gr:1::45.5", {"gradient": Gradient(1.0, BLACK, 45.5)}),
    ("gr:1::-90", {"gradient": Gradient(1.0, BLACK, 270.0)}),
    ("gr:1::450", {"gradient": Gradient(1.0, BLACK, 90.0)}),
    ("gr:1:::0.5", {"gradient": Gradient(1.0, BLACK, 0.0, 0.5, 1.0)}),
    ("gr:1::::0", {"gradient": Gradient(1.0, BLACK, 0.0, 0.0, 0.0)}),
    ("gr:0:f00", {"gradient": None}),
    ("preset:warm", {"monochrome": Monochrome(0.5, Color(255, 160, 0))}),
    ("pr:tilt/gr:1", {"gradient": Gradient(1.0, RED, 90.0)}),
    # co: one argument is contrast, a class list makes it crop_objects (imgproxy's docs use both).
    ("co:1.2:face:person", {"crop_objects": CropObjects(1.2, ("face", "person")), "contrast": 1.0}),
    ("co:1.0:all", {"crop_objects": CropObjects(1.0, ()), "contrast": 1.0}),
    ("c_obj:1.5:face", {"crop_objects": CropObjects(1.5, ("face",))}),
    ("cob:1.5", {"crop_objects": CropObjects(1.5, ())}),
]

# (options in a URL, what the error message must name)
REFUSED: list[tuple[str, str]] = [
    ("bga:1.5", "background_alpha"), ("bga:-0.1", "background_alpha"), ("bga:", "background_alpha"),
    ("bga:x", "background_alpha"), ("bga:0.5:1", "background_alpha"),
    ("a:256", "brightness"), ("a:1.5", "brightness"), ("a::-1", "contrast"), ("a:::x", "saturation"),
    ("a:1:1:1:1", "adjust"),
    ("co:-1", "contrast"), ("co:", "contrast"), ("co:x", "contrast"), ("contrast:nan", "contrast"),
    ("co:0:face", "crop_objects"),
    ("sa:-0.5", "saturation"), ("sa:", "saturation"), ("sa:1:2", "saturation"),
    ("mc:", "monochrome"), ("mc:2", "monochrome"), ("mc:-1", "monochrome"), ("mc:1:red", "monochrome"),
    ("mc:1:ff00", "monochrome"), ("mc:1:f00:1", "monochrome"),
    ("dt:", "duotone"), ("dt:1.1", "duotone"), ("dt:1:xyz", "duotone"), ("dt:1:f00:00g", "duotone"),
    ("dt:1:f00:00f:1", "duotone"),
    ("col:", "colorize"), ("col:2", "colorize"), ("col:0.5:blue", "colorize"), ("col:0.5:f00:1:1", "colorize"),
    ("gr:", "gradient"), ("gr:1.5", "gradient"), ("gr:1:f0", "gradient"), ("gr:1::sideways", "gradient"),
    ("gr:1::1e999", "gradient"), ("gr:1:::1.5", "gradient"), ("gr:1::::-0.1", "gradient"),
    ("gr:1:000:up:0:1:0", "gradient"),
]


@pytest.mark.parametrize(("options", "fields"), ACCEPTED, ids=[o for o, _ in ACCEPTED])
def test_accepted(options: str, fields: dict[str, Any]) -> None:
    po = pipeline(options)
    for name, value in fields.items():
        assert getattr(po, name) == value, name


@pytest.mark.parametrize(("options", "named"), REFUSED, ids=[o for o, _ in REFUSED])
def test_refused(options: str, named: str) -> None:
    with pytest.raises(InvalidURLError, match=named) as caught:
        pipeline(options)
    assert caught.value.status == 404


def test_off_and_absent_give_one_cache_key() -> None:
    plain = PipelineOptions().canonical()
    for options in ("mc:0:f00", "dt:0", "col:0", "gr:0:fff:up", "co:1", "sa:1", "a:0:1:1", "bga:1"):
        assert pipeline(options).canonical() == plain, options
    assert pipeline("gr:1::left").canonical() == pipeline("gr:1::90").canonical() != plain


def test_co_with_classes_is_crop_objects_only_where_crop_objects_is_allowed() -> None:
    config = load_config({"IMGPROXY_ALLOWED_PROCESSING_OPTIONS": "co,contrast"})
    assert pipeline("co:1.5", config).contrast == 1.5
    with pytest.raises(InvalidURLError, match="Forbidden processing option: crop_objects"):
        pipeline("co:1.5:face", config)
    allowed = load_config({"IMGPROXY_ALLOWED_PROCESSING_OPTIONS": "co,c_obj"})
    assert pipeline("co:1.5:face", allowed).crop_objects == CropObjects(1.5, ("face",))
