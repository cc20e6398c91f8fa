"""``fix_size``: a result larger than the output format can hold (``FormatSpec.max_dimension``,
``max_resolution``) is scaled down to fit rather than failing to save."""

from __future__ import annotations

import logging
import math

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.object_geometry import scale_detections
from imgproxy_py.imaging.vips import resize

log = logging.getLogger("imgproxy_py.processing")


def fix_size(c: Context) -> None:
    img = c.img
    spec = c.out_format.spec
    limit = spec.max_dimension
    if not limit:
        return
    shrink = max(img.width, img.height) / limit
    if spec.max_resolution:
        shrink = max(shrink, math.sqrt(img.width * img.height / spec.max_resolution))
    if shrink <= 1:
        return
    scale = 1 / shrink
    c.img = resize(img, scale, scale)
    scale_detections(c, scale, scale)
    log.warning("%s dimensions are limited to %d; result rescaled to %dx%d",
                c.out_format.value, limit, c.img.width, c.img.height)
