"""Time per minute of video for ``best.json`` (with and without the expression term) and for
``faces.json``, with the default settings (200 best-frame samples over the first half, 60
face-trace samples over the whole video, decode timeout raised so that nothing is cut short).

The work is what the routes do, called directly (no HTTP): ``best_frames`` with k=5, with and
without the expression model, and ``face_traces``.  Each video is run ``--repeat`` times and the
fastest run is kept (the machine may be shared); seconds are then scaled to one minute of video.
Both searches take a fixed number of samples, so their time grows with the length of the video
only through decoding: scaled figures of short clips overstate what a long video costs per
minute; the seconds for the file itself are printed too.

Usage (from the repository root)::

    python benchmarks/media_faces.py [--threads 2] [--repeat 2] [VIDEO ...]

Without videos: the test videos under ``tests/assets/media`` (bikes.mp4, 10 s, 640x272, a
cyclist; carphone_pristine.mp4, 4 s, 176x144, a talking face).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from imgproxy_py.detection import DetectionConfig, DetectorSet  # noqa: E402
from imgproxy_py.detection.expressions import ExpressionModel  # noqa: E402
from imgproxy_py.media.bestframe import best_frames  # noqa: E402
from imgproxy_py.media.traces import face_traces  # noqa: E402
from imgproxy_py.media.video import VideoConfig, VideoReader  # noqa: E402


def fastest(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads per model")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    videos = args.videos or [REPO / "tests" / "assets" / "media" / name
                             for name in ("bikes.mp4", "carphone_pristine.mp4")]
    detection = dataclasses.replace(DetectionConfig.from_env({})[0], threads=args.threads)
    detect = DetectorSet(detection).detect
    classify = ExpressionModel.load(threads=args.threads).classify
    config = VideoConfig(enabled=True, decode_timeout=600)
    print("seconds per minute of video (seconds for the file in brackets)")
    print(f"{'video':24} {'length':>7} {'best.json':>16} {'+expressions':>16} {'faces.json':>16}")
    for path in videos:
        data = path.read_bytes()
        with VideoReader(data, config, time.monotonic() + 60) as reader:
            length = reader.duration or 0.0
        plain = fastest(partial(best_frames, data, config=config, face_detector=detect), args.repeat)
        expressive = fastest(partial(best_frames, data, config=config, face_detector=detect, expressions=classify),
                             args.repeat)
        traces = fastest(partial(face_traces, data, config=config, face_detector=detect), args.repeat)
        per_minute = 60.0 / length if length else float("nan")
        cells = " ".join(f"{seconds * per_minute:8.1f} ({seconds:5.2f})" for seconds in (plain, expressive, traces))
        print(f"{path.name:24} {length:6.1f}s {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
