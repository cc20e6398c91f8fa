"""``imaging.best_format``: the complexity measure, the candidates, the pick."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvips

from imgproxy_py.formats import ImageFormat
from imgproxy_py.formats_config import BestFormatConfig
from imgproxy_py.imaging import best_format
from imgproxy_py.imaging.codecs.save import EncoderSettings, encode
from imgproxy_py.imaging.vips import to_srgb
from imgproxy_py.options.model import OutputOptions
from tests.conftest import ASSETS

DEMO = Path(__file__).resolve().parent.parent / "imgproxy_py" / "demo"
THRESHOLD = BestFormatConfig().complexity_threshold


def image(path: Path) -> pyvips.Image:
    return to_srgb(pyvips.Image.new_from_file(str(path))).copy_memory()


@pytest.mark.parametrize("name", ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"])
def test_photos_are_complex_at_any_size(name: str) -> None:
    photo = image(DEMO / name)
    assert best_format.complexity(photo) > THRESHOLD + 1
    assert best_format.complexity(photo.thumbnail_image(48)) > THRESHOLD  # few pixels, still a photo


@pytest.mark.parametrize("name", ["pil123p.png", "pil_sample_cmyk.jpg"])
def test_graphics_are_simple(name: str) -> None:
    assert best_format.complexity(image(ASSETS / "core" / name)) < THRESHOLD


def test_candidates_follow_accept_alpha_and_animation() -> None:
    preferred = (ImageFormat.JPEG, ImageFormat.PNG, ImageFormat.GIF)
    plain = OutputOptions()
    accepting = OutputOptions(prefer_webp=True, prefer_avif=True, prefer_jxl=True)
    assert best_format.candidates(plain, preferred, animated=False, alpha=False) == preferred
    assert set(best_format.candidates(accepting, preferred, animated=False, alpha=False)) == {
        *preferred, ImageFormat.WEBP, ImageFormat.AVIF, ImageFormat.JXL}
    assert ImageFormat.JPEG not in best_format.candidates(accepting, preferred, animated=False, alpha=True)
    assert set(best_format.candidates(accepting, preferred, animated=True, alpha=False)) == {
        ImageFormat.GIF, ImageFormat.WEBP}


def _pick(img: pyvips.Image, formats: tuple[ImageFormat, ...], config: BestFormatConfig) -> best_format.Choice:
    return best_format.pick(img, formats, config, lambda i, f, q, extra: encode(i, f, q, EncoderSettings(), extra),
                            lambda fmt: {ImageFormat.WEBP: 79, ImageFormat.AVIF: 63}.get(fmt, 80), lambda: None)


def test_pick_is_the_smallest_tried() -> None:
    photo = image(DEMO / "chelsea.jpg")
    choice = _pick(photo, (ImageFormat.JPEG, ImageFormat.PNG, ImageFormat.WEBP), BestFormatConfig())
    sizes = dict(choice.tried)
    assert set(sizes) == {ImageFormat.JPEG, ImageFormat.PNG, ImageFormat.WEBP}
    assert choice.format is min(sizes, key=lambda f: sizes[f]) and len(choice.data) == sizes[choice.format]


def test_a_graphic_never_gets_jpeg_and_a_photo_never_gif() -> None:
    graphic = image(ASSETS / "core" / "pil123p.png")
    assert ImageFormat.JPEG not in dict(_pick(graphic, (ImageFormat.JPEG, ImageFormat.PNG), BestFormatConfig()).tried)
    photo = image(DEMO / "rocket.jpg")
    assert ImageFormat.GIF not in dict(_pick(photo, (ImageFormat.JPEG, ImageFormat.GIF), BestFormatConfig()).tried)


def test_above_max_resolution_one_format_is_picked_by_rule() -> None:
    photo = image(DEMO / "coffee.jpg")  # 0.24 megapixels
    choice = _pick(photo, (ImageFormat.JPEG, ImageFormat.PNG, ImageFormat.WEBP), BestFormatConfig(max_resolution=0.1))
    assert (choice.format, choice.tried) == (ImageFormat.WEBP, ())
