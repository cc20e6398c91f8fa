"""Building a step's input by hand: a small image, the options of a URL, a context sized by
``calc_params``, and stand-ins for the detector."""

from __future__ import annotations

import functools
from typing import cast

import numpy as np
import numpy.typing as npt
import pyvips

from imgproxy_py.config import Config, load_config
from imgproxy_py.deadline import Deadline
from imgproxy_py.detection import Detection
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.context import Context, ProcessingSettings
from imgproxy_py.imaging.dependencies import PipelineDeps
from imgproxy_py.imaging.geometry import calc_params
from imgproxy_py.imaging.objects import ObjectDetection
from imgproxy_py.options.model import Gravity, GravityType, OutputOptions, PipelineOptions
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.url.tokenizer import parse_path


@functools.cache
def _config() -> Config:
    return load_config({})


@functools.cache
def _parser() -> OptionsParser:
    return OptionsParser(_config())


def options(url_options: str = "") -> PipelineOptions:
    """The first pipeline's options of a URL with these processing options (``rs:fit:300:300``)."""
    path = f"/unsafe/{url_options}/plain/http://example.com/a.jpg" if url_options else \
        "/unsafe/plain/http://example.com/a.jpg"
    parsed = parse_path(path, _config().url)
    return _parser().parse(parsed.options, parsed.source.extension).pipelines[0]


def coordinates(width: int, height: int, alpha: bool = False) -> pyvips.Image:
    """An sRGB image whose pixel at (x, y) is (x % 256, y % 256, 0): where a crop or an embed
    put the image can be read from its pixels."""
    xs, ys = np.meshgrid(np.arange(width) % 256, np.arange(height) % 256)
    bands = [xs, ys, np.zeros_like(xs)] + ([np.full_like(xs, 255)] if alpha else [])
    array = np.ascontiguousarray(np.dstack(bands).astype(np.uint8))
    img = pyvips.Image.new_from_memory(array.tobytes(), width, height, len(bands), "uchar")
    return img.copy(interpretation="srgb")


def noise(width: int, height: int, seed: int = 1) -> pyvips.Image:
    """Random sRGB pixels: every filter changes them (a gradient survives a blur)."""
    array = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return pyvips.Image.new_from_memory(array.tobytes(), width, height, 3, "uchar").copy(interpretation="srgb")


def solid(width: int, height: int, rgb: tuple[int, ...] = (128, 128, 128)) -> pyvips.Image:
    """A plain colour (3 bands, or 4 when ``rgb`` has alpha)."""
    return (pyvips.Image.black(width, height) + list(rgb)).cast("uchar").copy(interpretation="srgb")


def pixel(img: pyvips.Image, x: int, y: int) -> list[float]:
    return list(img(x, y))


def array(img: pyvips.Image) -> npt.NDArray[np.uint8]:
    """The pixels as a (height, width, bands) array."""
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=(img.height, img.width, img.bands))


def context(img: pyvips.Image, url_options: str = "", *, po: PipelineOptions | None = None,
            out_format: ImageFormat = ImageFormat.PNG, settings: ProcessingSettings | None = None,
            deps: PipelineDeps | None = None, source: tuple[bytes, ImageFormat] | None = None,
            is_vector: bool = False) -> Context:
    """A context as ``pipeline.run_steps`` makes it: sized by ``calc_params`` for ``img``."""
    ctx = Context(img=img, po=po or options(url_options), out=OutputOptions(), out_format=out_format,
                  settings=settings or ProcessingSettings(), deadline=Deadline.after(60),
                  deps=deps or PipelineDeps(), source_data=source[0] if source else None,
                  source_format=source[1] if source else None)
    calc_params(ctx, is_vector=is_vector)
    return ctx


def face(left: float, top: float, width: float, height: float, name: str = "face") -> Detection:
    return Detection(0, name, 0.9, left, top, width, height)


class FakeDetection:
    """Stands in for ``ObjectDetection``: fixed detections in the current image's pixels."""

    def __init__(self, found: tuple[Detection, ...], fits: bool = True) -> None:
        self.found = found
        self.fits = fits
        self.calls = 0

    def detections(self, c: Context) -> tuple[Detection, ...]:
        self.calls += 1
        if c.detections is None:
            c.detections = self.found
        return c.detections

    def current_image_fits(self, c: Context) -> bool:
        return self.fits

    def focus_window(self, c: Context, gravity: Gravity, width: int, height: int) -> tuple[int, int] | None:
        found = self.detections(c)
        if not found:
            return None
        first = found[0]
        left = int(min(max(0, first.left + first.width / 2 - width / 2), c.img.width - width))
        top = int(min(max(0, first.top + first.height / 2 - height / 2), c.img.height - height))
        return left, top


def with_detector(fake: FakeDetection, fallback: GravityType = GravityType.SMART) -> PipelineDeps:
    return PipelineDeps(objects=cast(ObjectDetection, fake), object_fallback=fallback)
