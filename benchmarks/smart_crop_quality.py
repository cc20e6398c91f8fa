"""How much of a photo's subject each smart crop keeps: libvips' attention (plain ``g:sm``) against
the advanced smart crop's two modes (``IMGPROXY_SMART_CROP_ADVANCED``), over tall, wide and square
windows on the bundled demo photos.

Each photo's subject is a box marked by hand (the astronaut's head, the cat's eyes and nose, the
cup's rim); the score of a crop is the share of that box inside the window, 1.0 when all of it is
kept, and the table gives it per crop and on average.

    .venv/bin/python benchmarks/smart_crop_quality.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import pyvips
from bench_common import table_head

from imgproxy_py.imaging.smart_crop import SmartCropMode, smart_window

DEMO = Path(__file__).resolve().parents[1] / "imgproxy_py" / "demo"
# photo: (left, top, right, bottom) of its subject, marked by hand.
SUBJECTS = {
    "astronaut": (165, 20, 290, 200),  # head, hair to chin (512x512)
    "chelsea": (120, 40, 360, 230),  # eyes and nose (451x300)
    "coffee": (175, 20, 410, 280),  # the cup's rim and body (600x400)
}
# photo, window width, window height
CROPS = [("astronaut", 512, 170), ("astronaut", 307, 307), ("astronaut", 170, 512), ("chelsea", 451, 150),
         ("chelsea", 100, 300), ("chelsea", 180, 180), ("coffee", 200, 400), ("coffee", 600, 200),
         ("coffee", 240, 240)]


def kept(window: tuple[int, int], width: int, height: int, subject: tuple[int, int, int, int]) -> float:
    left, top = window
    across = max(0, min(left + width, subject[2]) - max(left, subject[0]))
    down = max(0, min(top + height, subject[3]) - max(top, subject[1]))
    return across * down / ((subject[2] - subject[0]) * (subject[3] - subject[1]))


def attention_window(img: pyvips.Image, width: int, height: int) -> tuple[int, int]:
    """Where libvips' smartcrop cuts: centred on its attention point, kept inside the image."""
    _, found = img.smartcrop(width, height, interesting="attention", attention_x=True, attention_y=True)
    left = min(max(round(found["attention_x"] - width / 2), 0), img.width - width)
    top = min(max(round(found["attention_y"] - height / 2), 0), img.height - height)
    return left, top


def main() -> int:
    pyvips.cache_set_max(0)
    methods = ("attention", *(mode.value for mode in SmartCropMode))
    scores: dict[str, list[float]] = {method: [] for method in methods}
    print(table_head("photo", "window", *methods))
    for photo, width, height in CROPS:
        img = pyvips.Image.new_from_file(str(DEMO / f"{photo}.jpg")).copy_memory()
        windows = {"attention": attention_window(img, width, height),
                   **{mode.value: smart_window(img, width, height, mode) for mode in SmartCropMode}}
        row = []
        for method in methods:
            score = kept(windows[method], width, height, SUBJECTS[photo])
            scores[method].append(score)
            row.append(f"{score:.2f}")
        print(f"| {photo} | {width}x{height} | " + " | ".join(row) + " |")
    print("| mean | | " + " | ".join(f"{statistics.mean(scores[m]):.2f}" for m in methods) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
