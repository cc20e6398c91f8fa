"""An imgproxy_py plugin with one extension of each kind:

* the ``sepia``/``sep`` processing option (``sep:0.8``) and its step, after ``apply_filters``;
* a ``bundled://NAME`` source backend serving the images packaged with the plugin;
* a detector of pure red squares (class ``red_square``), usable by ``g:obj:red_square``,
  ``cob``, ``bd`` and ``/info`` ``do:1`` like the built-in models.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pyvips

from imgproxy_py.config import Config
from imgproxy_py.detection import Detection
from imgproxy_py.errors import SourceNotFoundError
from imgproxy_py.imaging.context import Context
from imgproxy_py.options.grammar import Arg, Args
from imgproxy_py.options.primitives import UNIT_FLOAT
from imgproxy_py.options.registry import Family, Option, set_extension
from imgproxy_py.plugins import Plugin, PluginStep
from imgproxy_py.sources.base import Conditional, SizeLimit, SourceImage, not_modified

# The classic sepia matrix; ``amount`` blends between the picture and its sepia version.
_SEPIA = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]


def sepia(c: Context) -> None:
    values = c.po.extension("sepia")
    if not values:
        return
    amount = float(values[0])
    img = c.img
    alpha = img[img.bands - 1] if img.hasalpha() else None
    colour = img[:3] if img.bands >= 3 else img.colourspace("srgb")[:3]
    toned = colour.recomb(_SEPIA).cast("float")
    mixed = (colour.cast("float") * (1 - amount) + toned * amount).cast(img.format)
    c.img = mixed.bandjoin(alpha) if alpha is not None else mixed


class BundledImages:
    """``bundled://NAME``: a file shipped inside this package."""

    schemes: tuple[str, ...] = ("bundled",)

    async def fetch(self, url: str, limit: SizeLimit, conditional: Conditional) -> SourceImage:
        name = url.removeprefix("bundled://").strip("/")
        resource = files(__name__) / name
        if "/" in name or not name or not resource.is_file():
            raise SourceNotFoundError(f"no bundled image {name!r}")
        data = resource.read_bytes()
        etag = f'"bundled-{len(data)}"'
        if conditional.matches(etag):
            return not_modified(url, etag)
        limit.check_declared(len(data))
        return SourceImage(data, url, etag=etag)

    async def close(self) -> None:
        return None


class RedSquares:
    """Finds the bounding box of pure red pixels (a toy detector with an exact answer)."""

    class_names: tuple[str, ...] = ("red_square",)

    def detect(self, image: pyvips.Image) -> list[Detection]:
        rgb = np.ndarray(buffer=image.colourspace("srgb")[:3].cast("uchar").write_to_memory(), dtype=np.uint8,
                         shape=(image.height, image.width, 3))
        red = (rgb[:, :, 0] > 200) & (rgb[:, :, 1] < 40) & (rgb[:, :, 2] < 40)
        if red.sum() < 16:
            return []
        ys, xs = np.nonzero(red)
        return [Detection(0, "red_square", 0.99, float(xs.min()), float(ys.min()),
                          float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))]


def _backend(config: Config) -> BundledImages:
    return BundledImages()


def _detector(config: Config) -> RedSquares:
    return RedSquares()


PLUGIN = Plugin(
    name="sepia",
    options=(Option("sepia", ("sep",), Family.EFFECTS, Args(Arg("amount", UNIT_FLOAT)), set_extension("sepia"),
                    "Sepia tone, blended by amount (0-1).", "sep:0.8"),),
    steps=(PluginStep(after="apply_filters", step=sepia),),
    source_backends=(_backend,),
    detectors=(_detector,),
)
