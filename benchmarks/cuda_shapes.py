"""What a change of input shape costs onnxruntime's CUDA provider (needs the ``gpu`` extra and a GPU).

CenterFace on one session, fed in turn the shapes a detection pass sees: the main and coarse
passes of a 4:3 picture, five letterboxes of different pictures, one shape only; with each of
the provider's convolution searches, and with one session per shape.  ``first``: each shape's
first inference; ``later``: the rest.  On an H200 with onnxruntime-gpu 1.31 every change cost
1.0-1.3 s (HEURISTIC), one shape 2 ms: why the face detector feeds CUDA one canvas size and the
expression model one batch size (``detection/sessions.py``, ``one_input_shape``).

    .venv/bin/python benchmarks/cuda_shapes.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

MODEL = Path(__file__).resolve().parents[1] / "models" / "centerface.onnx"
TWO = [(384, 480), (128, 160)]  # the main and coarse passes of a 4:3 picture
FIVE = [(384, 480), (480, 384), (416, 416), (352, 512), (128, 160)]
rng = np.random.default_rng(0)


def session(search: str) -> Any:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    cuda = ("CUDAExecutionProvider", {"cudnn_conv_algo_search": search})
    return ort.InferenceSession(str(MODEL), options, providers=[cuda, "CPUExecutionProvider"])


def run_ms(s: Any, shape: tuple[int, int]) -> float:
    x = rng.random((1, 3, *shape), dtype=np.float32)
    started = time.perf_counter()
    s.run(None, {"image": x})
    return (time.perf_counter() - started) * 1000


def case(label: str, pick: Callable[[tuple[int, int]], Any], shapes: list[tuple[int, int]], rounds: int) -> None:
    times = [run_ms(pick(shape), shape) for _ in range(rounds) for shape in shapes]
    first, later = times[:len(shapes)], times[len(shapes):]
    print(f"{label:50s} first {' '.join(f'{t:.0f}' for t in first):28s} "
          f"later median {statistics.median(later):7.2f} max {max(later):7.1f} ms", flush=True)


def main() -> int:
    if hasattr(ort, "preload_dlls"):
        ort.preload_dlls()
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        print("onnxruntime has no CUDA provider here: install the gpu extra on a machine with a GPU")
        return 1
    print(f"onnxruntime {ort.__version__}; times in ms")
    for search in ("HEURISTIC", "DEFAULT"):
        one = session(search)
        case(f"{search}: one session, main + coarse in turn", lambda _shape, s=one: s, TWO, 4)
        per_shape = {shape: session(search) for shape in TWO}
        case(f"{search}: one session per shape", per_shape.__getitem__, TWO, 4)
        cycling = session(search)
        case(f"{search}: one session, five shapes in turn", lambda _shape, s=cycling: s, FIVE, 3)
    control = session("HEURISTIC")
    case("HEURISTIC: one session, one shape", lambda _shape: control, TWO[:1], 6)
    exhaustive = session("EXHAUSTIVE")
    case("EXHAUSTIVE: one session, main + coarse in turn", lambda _shape: exhaustive, TWO, 3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
