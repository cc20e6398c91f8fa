"""Median time of face detection per image: the CenterFace network alone and the whole ``detect``.

``detect`` includes what a request pays on top of the network: shrinking the source to the
network size, converting it to sRGB, letterboxing and decoding the outputs.  Images are real
photos shipped with scikit-image and scikit-learn plus the hopper test photo, also scaled up to
a 12-megapixel copy to show the cost of shrinking a large source.

Run: ``.venv/bin/python benchmarks/detection_speed.py [--net-size 416] [--threads 1] [--repeat 30]``
(``--providers cuda``: onnxruntime's CUDA provider, with the ``gpu`` extra installed)
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pyvips
from bench_common import ensure_images
from skimage import data
from sklearn.datasets import load_sample_images

from imgproxy_py.config import load_config
from imgproxy_py.deadline import Deadline
from imgproxy_py.detection import DetectionConfig, DetectorSet
from imgproxy_py.detection.centerface import CenterFace
from imgproxy_py.detection.config import FACE_NET_SIZE
from imgproxy_py.detection.preprocess import resize_exact, to_array, to_srgb_uchar
from imgproxy_py.detection.sessions import open_session
from imgproxy_py.imaging.pipeline import process_image
from imgproxy_py.server.checks import parse_and_verify
from imgproxy_py.server.composition import build_services

HOPPER = Path(__file__).resolve().parents[1] / "tests" / "assets" / "detection" / "hopper.jpg"


def photos() -> dict[str, pyvips.Image]:
    arrays = {name: getattr(data, name)() for name in ("astronaut", "camera", "coffee", "chelsea", "rocket")}
    for path, array in zip(load_sample_images().filenames, load_sample_images().images, strict=True):
        arrays[Path(path).stem] = array
    # new_from_array keeps a reference to the array; copy_memory() of such an image would not.
    images = {name: pyvips.Image.new_from_array(np.ascontiguousarray(a)) for name, a in arrays.items()}
    images["hopper"] = pyvips.Image.new_from_file(str(HOPPER)).copy_memory()
    images["astronaut-12MP"] = images["astronaut"].resize(4000 / 512, vscale=3000 / 512).copy_memory()
    return images


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # the first run allocates onnxruntime's buffers for this input shape
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--net-size", type=int, default=FACE_NET_SIZE, help="IMGPROXY_FACE_DETECTION_NET_SIZE (default: the server's)"
    )
    parser.add_argument("--threads", type=int, default=1, help="IMGPROXY_DETECTION_THREADS")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--providers", default="", help="IMGPROXY_DETECTION_PROVIDERS (default: the server's choice)")
    args = parser.parse_args(argv)

    print("$", shlex.join([Path(sys.executable).name, *sys.argv]))
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"onnxruntime {ort.__version__}, libvips {pyvips.version(0)}.{pyvips.version(1)}"
    )
    env = {"IMGPROXY_FACE_DETECTION_NET_SIZE": str(args.net_size), "IMGPROXY_DETECTION_THREADS": str(args.threads)}
    if args.providers:
        env["IMGPROXY_DETECTION_PROVIDERS"] = args.providers
    config, errors = DetectionConfig.from_env(env)
    if errors:
        raise SystemExit("; ".join(errors))
    detectors = DetectorSet(config)
    if detectors.errors:
        raise SystemExit("; ".join(detectors.errors))
    assert config.face_model is not None
    session = open_session(config.face_model, threads=args.threads, providers=config.providers)
    print(f"execution providers: {', '.join(session.get_providers())}")
    network = CenterFace(
        session,
        net_size=args.net_size,
        threshold=config.face_confidence_threshold,
        nms_threshold=config.face_nms_threshold,
    )

    print(
        f"net size {args.net_size} (network ms: this pass alone), coarse pass {config.face_coarse_net_size} "
        f"(in detect ms), {args.threads} inference thread(s), median of {args.repeat} runs"
    )
    print(f"{'image':>16s} {'size':>11s} {'input':>9s} {'network ms':>11s} {'detect ms':>10s} {'faces':>6s}")
    network_times, detect_times = [], []
    for name, image in photos().items():
        letterbox = network.letterbox(image.width, image.height)
        picture = resize_exact(to_srgb_uchar(image), letterbox.content_width, letterbox.content_height)
        canvas = letterbox.place(to_array(picture), 0)
        network_ms = median_ms(lambda canvas=canvas: network.run(canvas), args.repeat)
        detect_ms = median_ms(lambda image=image: detectors.detect(image), args.repeat)
        faces = len(detectors.detect(image))
        network_times.append(network_ms)
        detect_times.append(detect_ms)
        print(
            f"{name:>16s} {image.width:5d}x{image.height:<5d} {letterbox.width:4d}x{letterbox.height:<4d} "
            f"{network_ms:11.1f} {detect_ms:10.1f} {faces:6d}"
        )
    print(
        f"median over images: network {statistics.median(network_times):.1f} ms, "
        f"detect {statistics.median(detect_times):.1f} ms"
    )
    added_latency(env, args.repeat)
    return 0


def added_latency(env: dict[str, str], repeat: int) -> None:
    """What ``g:obj:face`` adds to the same ``rs:fill`` with ``g:ce``, through the server's
    processor, on the 12 MP test JPEG (its top-left cell holds the astronaut's face).  No source
    id is passed, so every ``g:obj:face`` run detects afresh (a server reuses the detections of
    a source it has seen)."""
    services = build_services(load_config({**env, "IMGPROXY_LOG_LEVEL": "error"}))
    jpeg = ensure_images().jpeg.read_bytes()

    def run(gravity: str) -> None:
        parsed = parse_and_verify(services, f"/unsafe/rs:fill:300:200/g:{gravity}/q:80/plain/local:///photo.jpg")
        options = services.options.parse(parsed.options, parsed.source.extension)
        process_image(services.processor, jpeg, options, Deadline.after(60))

    timings: dict[str, list[float]] = {"ce": [], "obj:face": []}
    run("ce")
    run("obj:face")
    for _ in range(repeat):  # interleaved, so that load changes hit both alike
        for gravity, times in timings.items():
            started = time.perf_counter()
            run(gravity)
            times.append((time.perf_counter() - started) * 1000)
    centre, face = (statistics.median(times) for times in timings.values())
    print(
        f"12 MP JPEG, rs:fill:300:200, median of {repeat}: g:ce {centre:.1f} ms, g:obj:face {face:.1f} ms "
        f"(fresh detection): +{face - centre:.1f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
