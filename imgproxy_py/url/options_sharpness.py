"""The URL builder's methods for sharpness, blur areas and geometry options:
unsharp_masking, blur_areas, progressive_blur, resizing_algorithm, crop_aspect_ratio.

A mixin of :class:`imgproxy_py.url.options.Options`; each method returns a new object.
"""

from __future__ import annotations

from imgproxy_py.url.chain import OptionChain


class SharpnessMethods(OptionChain):
    """Sharpness, blur areas and geometry options of the URL builder."""
