"""How often a narrow crop keeps the whole face: detection-driven crop vs libvips smartcrop vs centre.

Simulates ``rs:fill`` from a 3:2 landscape to a 1:3 portrait: the image is scaled to fill the
height, so the crop window is ``H/3 x H`` in source pixels and only its left edge is chosen.
For every case the face box is known:

* real photos: 3:2 windows cut from scikit-image's astronaut and cameraman photos, so the face
  sits at several real positions (hand-checked face boxes).  Window sizes run from the whole
  photo down to the size whose 1:3 crop is 10% wider than the face: tighter windows would
  measure how the detector's box and the hand-drawn box disagree (is the ear part of a
  profile face?), not the cropping strategy;
* hopper composites: the hopper portrait (face 60 to 150 px wide) pasted at seeded random
  positions into real landscape photos (scikit-image coffee, chelsea, rocket; scikit-learn
  china.jpg and flower.jpg), the face box being the hand-checked one, moved and scaled;
* LFW composites: scikit-image's 25x25 LFW face crops, upscaled to 60 to 150 px and pasted
  the same way, the face box being the pasted square.  These are the hardest: grey, blurry,
  tight crops with no head around them.

Strategies, scored by the share of cases where the whole face box lies inside the window:

(a) ours: ``DetectorSet.detect`` + ``select_focus(max_score_area, crop size)`` +
    ``place_crop_window``; when nothing is detected it falls back to smartcrop, as the server
    does with ``IMGPROXY_OBJECT_DETECTION_FALLBACK_TO_SMART_CROP=true``;
(b) libvips ``smartcrop`` with ``interesting=attention``;
(c) the centre.

Run: ``.venv/bin/python benchmarks/detection_quality.py [--net-size 320] [--composites 40]``
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyvips
from skimage import data
from sklearn.datasets import load_sample_images

from imgproxy_py.detection import (
    Box,
    DetectionConfig,
    DetectorSet,
    GravityMode,
    place_crop_window,
    select_focus,
)

REPO = Path(__file__).resolve().parents[1]
HOPPER = REPO / "tests" / "assets" / "detection" / "hopper.jpg"

# Hand-checked face boxes (the same as in tests/test_detection.py).
ASTRONAUT_FACE = Box(180, 60, 90, 120)
CAMERAMAN_FACE = Box(188, 108, 68, 92)
HOPPER_FACE = Box(40, 25, 47, 53)

BACKGROUND_SIZE = (900, 600)
# Real-photo windows are cut down to where the crop is this much wider than the face.
SLACK = 1.1


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "real" or "composite"
    image: pyvips.Image
    face: Box


def vips(array: np.ndarray) -> pyvips.Image:
    return pyvips.Image.new_from_array(np.ascontiguousarray(array))


def windows_of(photo: pyvips.Image, face: Box, name: str, steps: int = 3) -> Iterator[Case]:
    """3:2 windows of ``photo`` of ``steps`` sizes and positions, each holding the face."""
    largest = min(photo.width, photo.height * 3 // 2)
    # The 1:3 crop of a W x 2W/3 window is 2W/9 wide.
    smallest = math.ceil(face.width * SLACK * 9 / 2)
    for width in np.linspace(largest, smallest, steps).round().astype(int):
        height = int(width) * 2 // 3
        x_range = (max(0, int(face.right) - width), min(int(face.left), photo.width - width))
        y_range = (max(0, int(face.bottom) - height), min(int(face.top), photo.height - height))
        for x in np.linspace(*x_range, steps).round().astype(int):
            for y in np.linspace(*y_range, steps).round().astype(int):
                window = photo.crop(int(x), int(y), int(width), height)
                moved = Box(face.left - float(x), face.top - float(y), face.width, face.height)
                yield Case(f"{name}@{width}x{height}+{x}+{y}", "real photo", window, moved)


def real_cases() -> list[Case]:
    cases = [
        *windows_of(vips(data.astronaut()), ASTRONAUT_FACE, "astronaut"),
        *windows_of(vips(data.camera()), CAMERAMAN_FACE, "camera"),
    ]
    # Windows whose position range is a single point repeat; keep one of each.
    unique = {case.name: case for case in cases}
    return list(unique.values())


def backgrounds() -> dict[str, pyvips.Image]:
    photos = {
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "rocket": data.rocket(),
    }
    for path, image in zip(load_sample_images().filenames, load_sample_images().images, strict=True):
        photos[Path(path).stem] = image
    width, height = BACKGROUND_SIZE
    return {
        name: vips(array).resize(width / array.shape[1], vscale=height / array.shape[0])
        for name, array in photos.items()
    }


def composite_cases(count: int, seed: int, source: str) -> list[Case]:
    """``count`` faces pasted into the background photos in turn, at seeded random places."""
    rng = np.random.default_rng(seed)
    lfw_faces = (data.lfw_subset()[:100] * 255).astype(np.uint8)
    hopper = pyvips.Image.new_from_file(str(HOPPER))
    scenes = backgrounds()
    names = sorted(scenes)
    cases = []
    for index in range(count):
        scene_name = names[index % len(names)]
        scene = scenes[scene_name]
        face_width = int(rng.integers(60, 151))
        if source == "lfw":
            face_index = int(rng.integers(0, len(lfw_faces)))
            patch = vips(lfw_faces[face_index]).resize(face_width / 25, kernel="cubic")
            face = Box(0, 0, patch.width, patch.height)
            label = f"lfw{face_index}"
        else:
            scale = face_width / HOPPER_FACE.width
            patch = hopper.resize(scale)
            face = HOPPER_FACE.scale(scale, scale)
            label = "hopper"
        patch = patch.colourspace("srgb").cast("uchar")
        left = int(rng.integers(0, scene.width - patch.width + 1))
        top = int(rng.integers(0, scene.height - patch.height + 1))
        image = scene.insert(patch, left, top).copy_memory()
        moved = Box(face.left + left, face.top + top, face.width, face.height)
        cases.append(Case(f"{scene_name}+{label}@{left},{top}x{face_width}", f"{source} composite", image, moved))
    return cases


def smartcrop_left(image: pyvips.Image, crop_width: int, crop_height: int) -> int:
    cropped = image.smartcrop(crop_width, crop_height, interesting="attention")
    # libvips records where the crop came from as a negative offset.
    return -int(cropped.xoffset)


def ours_left(detectors: DetectorSet, image: pyvips.Image, crop_width: int, crop_height: int) -> tuple[int, bool]:
    detections = detectors.detect(image)
    focus = select_focus(
        detections,
        class_weights=None,
        mode=GravityMode.MAX_SCORE_AREA,
        image_width=image.width,
        image_height=image.height,
        crop_width=crop_width,
        crop_height=crop_height,
    )
    if focus is None:
        return smartcrop_left(image, crop_width, crop_height), False
    left, _ = place_crop_window(focus, image.width, image.height, crop_width, crop_height)
    return left, True


def holds(left: int, crop_width: int, face: Box) -> bool:
    return left <= face.left and face.right <= left + crop_width


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net-size", type=int, default=320, help="IMGPROXY_FACE_DETECTION_NET_SIZE")
    parser.add_argument("--lfw", type=int, default=40, help="number of pasted LFW face cases")
    parser.add_argument("--hopper", type=int, default=15, help="number of pasted hopper portrait cases")
    parser.add_argument("--threshold", type=float, default=None, help="IMGPROXY_FACE_DETECTION_CONFIDENCE_THRESHOLD")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)

    print("$", shlex.join([Path(sys.executable).name, *sys.argv]))
    env = {"IMGPROXY_FACE_DETECTION_NET_SIZE": str(args.net_size)}
    if args.threshold is not None:
        env["IMGPROXY_FACE_DETECTION_CONFIDENCE_THRESHOLD"] = str(args.threshold)
    config, errors = DetectionConfig.from_env(env)
    if errors:
        raise SystemExit("; ".join(errors))
    detectors = DetectorSet(config)
    if detectors.errors:
        raise SystemExit("; ".join(detectors.errors))

    started = time.perf_counter()
    cases = [
        *real_cases(),
        *composite_cases(args.hopper, args.seed, "hopper"),
        *composite_cases(args.lfw, args.seed, "lfw"),
    ]
    results: dict[str, dict[str, int]] = {}
    detected = 0
    held_when_detected = 0
    for case in cases:
        crop_height = case.image.height
        crop_width = crop_height // 3
        if case.face.width > crop_width or case.face.height > crop_height:
            continue
        ours, found = ours_left(detectors, case.image, crop_width, crop_height)
        detected += found
        held_when_detected += found and holds(ours, crop_width, case.face)
        lefts = {
            "ours": ours,
            "smartcrop": smartcrop_left(case.image, crop_width, crop_height),
            "centre": (case.image.width - crop_width) // 2,
        }
        for kind in (case.kind, "all"):
            tally = results.setdefault(kind, {"cases": 0, "ours": 0, "smartcrop": 0, "centre": 0})
            tally["cases"] += 1
            for strategy, left in lefts.items():
                tally[strategy] += holds(left, crop_width, case.face)
        if args.verbose:
            marks = " ".join(f"{s}={'ok' if holds(x, crop_width, case.face) else '--'}" for s, x in lefts.items())
            print(f"{case.name:44s} face={'found' if found else 'missed'} {marks}")

    total = results["all"]["cases"]
    print(
        f"face net size {config.face_net_size}, threshold {config.face_confidence_threshold}; "
        f"{total} cases where the face fits a 1:3 crop of a 3:2 image"
    )
    print(f"a face was detected in {detected}/{total} cases (the others fell back to smartcrop);")
    print(f"when detected, the crop held the whole face in {held_when_detected}/{detected}")
    print(f"{'cases':>22s} {'n':>4s} {'(a) ours':>10s} {'(b) smartcrop':>14s} {'(c) centre':>11s}")
    for kind in ("real photo", "hopper composite", "lfw composite", "all"):
        tally = results.get(kind)
        if not tally:
            continue
        shares = [100 * tally[strategy] / tally["cases"] for strategy in ("ours", "smartcrop", "centre")]
        print(f"{kind:>22s} {tally['cases']:4d} {shares[0]:9.1f}% {shares[1]:13.1f}% {shares[2]:10.1f}%")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
