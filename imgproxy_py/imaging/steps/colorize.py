"""``colorize``: imgproxy Pro's plain colour layer over the result, just before ``flatten``
(so that it covers ``extend`` and ``padding`` too).  Without ``keep_alpha`` it is composited
"over": transparent areas take the colour at the layer's opacity; with it, the alpha channel
stays as it was and only the colours move toward the layer's."""

from __future__ import annotations

from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.layers import cover
from imgproxy_py.imaging.vips import materialize


def colorize(c: Context) -> None:
    layer = c.po.colorize
    if layer is None:
        return
    c.img = materialize(cover(c.img, layer.color.rgb, layer.opacity, layer.keep_alpha), c.deadline)
