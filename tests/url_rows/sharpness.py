"""URL-table rows of the sharpness options (see tests/url_rows/__init__.py)."""

from __future__ import annotations

from imgproxy_py.options.values_sharpness import (
    BlurArea,
    BlurAreas,
    CropAspectRatio,
    ProgressiveBlur,
    ResizingAlgorithm,
    UnsharpMaskingArgs,
    UnsharpMaskingMode,
)
from tests.url_rows import Row

ROWS: list[Row] = [
    ("resizing_algorithm", lambda o: o.resizing_algorithm("nearest"),
     {"resizing_algorithm": ResizingAlgorithm.NEAREST}),
    ("crop_aspect_ratio", lambda o: o.crop_aspect_ratio(1.5, True), {"crop_aspect_ratio": CropAspectRatio(1.5, True)}),
    ("crop_aspect_ratio", lambda o: o.crop_aspect_ratio(0.75), {"crop_aspect_ratio": CropAspectRatio(0.75, False)}),
    ("unsharp_masking", lambda o: o.unsharp_masking("always", 2, 16),
     {"unsharp_masking": UnsharpMaskingArgs(UnsharpMaskingMode.ALWAYS, 2.0, 16.0)}),
    ("unsharp_masking", lambda o: o.unsharp_masking(divider=12.5),
     {"unsharp_masking": UnsharpMaskingArgs(None, None, 12.5)}),
    ("blur_areas", lambda o: o.blur_areas(5, (0.1, 0.2, 0.3, 0.4), (0, 0, 1, 0.25)),
     {"blur_areas": BlurAreas(5.0, (BlurArea(0.1, 0.2, 0.3, 0.4), BlurArea(0.0, 0.0, 1.0, 0.25)))}),
    ("progressive_blur", lambda o: o.progressive_blur(10, "left", 0.2, 0.8),
     {"progressive_blur": ProgressiveBlur(10.0, 90.0, 0.2, 0.8)}),
    ("progressive_blur", lambda o: o.progressive_blur(3, 45.5), {"progressive_blur": ProgressiveBlur(3.0, 45.5)}),
]
