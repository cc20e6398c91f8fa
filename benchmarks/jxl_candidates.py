"""JPEG XL wheels compared on the demo photos: encode and decode time, bytes, and SSIM
against the source, at imgproxy's default quality (77) and effort (4).

    python benchmarks/jxl_candidates.py
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

DEMO = Path(__file__).resolve().parent.parent / "imgproxy_py" / "demo"
QUALITY, EFFORT = 77, 4


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def imagecodecs_codec(pixels: np.ndarray) -> tuple[bytes, np.ndarray, float, float]:
    import imagecodecs

    start = time.perf_counter()
    data = imagecodecs.jpegxl_encode(pixels, level=QUALITY, effort=EFFORT)
    mid = time.perf_counter()
    back = imagecodecs.jpegxl_decode(data)
    return bytes(data), back, mid - start, time.perf_counter() - mid


def pillow_jxl_codec(pixels: np.ndarray) -> tuple[bytes, np.ndarray, float, float]:
    import pillow_jxl  # noqa: F401  (registers the plugin)

    start = time.perf_counter()
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JXL", quality=QUALITY, effort=EFFORT)
    mid = time.perf_counter()
    back = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return buf.getvalue(), back, mid - start, time.perf_counter() - mid


def main() -> None:
    for path in sorted(DEMO.glob("*.jpg")):
        pixels = np.asarray(Image.open(path).convert("RGB"))
        for name, codec in (("imagecodecs", imagecodecs_codec), ("pillow-jxl-plugin", pillow_jxl_codec)):
            codec(pixels)  # warm up
            data, back, enc, dec = codec(pixels)
            print(f"{path.name:14} {name:18} {len(data):8d} B  encode {enc * 1000:6.0f} ms  "
                  f"decode {dec * 1000:5.0f} ms  SSIM {ssim(pixels, back):.4f}")


if __name__ == "__main__":
    main()
