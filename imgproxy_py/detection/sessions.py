"""onnxruntime sessions: which execution providers to use and how to open a model."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgproxy_py.deadline import REQUEST_DEADLINE
from imgproxy_py.imaging.kill_switch import enforced

logger = logging.getLogger("imgproxy_py.detection")

try:
    import onnxruntime as ort
except ImportError:  # the cpu/gpu extras are optional; detection is then unavailable
    ort = None

CPU = "CPUExecutionProvider"
# Tried in this order when IMGPROXY_DETECTION_PROVIDERS is not set.  CUDA comes before TensorRT
# because TensorRT builds an engine per input shape on first use (seconds to minutes) and the
# face model sees a new shape for every new aspect ratio.
DEFAULT_ACCELERATORS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")

_PROVIDER_ALIASES = {
    "cpu": CPU,
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "dml": "DmlExecutionProvider",
    "directml": "DmlExecutionProvider",
}


def onnxruntime_available() -> bool:
    return ort is not None


def available_providers() -> list[str]:
    return list(ort.get_available_providers()) if ort is not None else []


def resolve_providers(requested: Sequence[str]) -> tuple[list[str], list[str]]:
    """Map names such as ``cuda`` or ``CUDAExecutionProvider`` to installed providers.

    Returns the providers in the requested order and the problems found.
    """
    available = available_providers()
    chosen: list[str] = []
    problems: list[str] = []
    if not available:
        return [], ["onnxruntime is not installed"]
    for name in requested:
        provider = _PROVIDER_ALIASES.get(name.lower(), name)
        if provider not in available:
            problems.append(f"{name!r} is not available (installed: {', '.join(available)})")
        elif provider not in chosen:
            chosen.append(provider)
    if not chosen and not problems:
        problems.append("no provider given")
    return chosen, problems


def default_providers() -> list[str]:
    available = available_providers()
    accelerators = [name for name in DEFAULT_ACCELERATORS if name in available]
    # Only the first accelerator is used: onnxruntime hands every node the first provider that
    # supports it, so a second one would never run anything.
    return [*accelerators[:1], CPU]


# Providers that run on CUDA, whose libraries onnxruntime may have to be told to load.
_CUDA_PROVIDERS = frozenset({"CUDAExecutionProvider", "TensorrtExecutionProvider"})
_cuda_libraries_lock = threading.Lock()
_cuda_libraries_tried = False


def load_cuda_libraries(providers: Sequence[str]) -> None:
    """Load CUDA and cuDNN before the first session on the GPU, once per process.

    The ``gpu`` extra installs them as pip packages (``onnxruntime-gpu[cuda,cudnn]``), which are
    not on the dynamic loader's path: without this onnxruntime fails to load its CUDA provider
    and every inference silently runs on the CPU.  onnxruntime's ``preload_dlls`` (1.21+) finds
    them beside itself and falls back to the loader's path (a system CUDA); it prints what it
    could not load, which goes to the log instead."""
    global _cuda_libraries_tried
    if ort is None or not _CUDA_PROVIDERS.intersection(providers) or not hasattr(ort, "preload_dlls"):
        return
    with _cuda_libraries_lock:
        if _cuda_libraries_tried:
            return
        _cuda_libraries_tried = True
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                ort.preload_dlls()
        except Exception as exc:  # a broken install must leave detection on the CPU, not stop it
            logger.warning("onnxruntime could not preload the CUDA libraries: %s", _first_line(exc))
        for line in printed.getvalue().splitlines():
            if line.strip():
                logger.warning("onnxruntime: %s", line.strip())


def one_input_shape(session: Any) -> bool:
    """Whether ``session`` should see a single input shape: it runs on CUDA (or TensorRT).

    onnxruntime's CUDA provider plans every convolution again whenever the input's shape
    changes, even back to a shape it has seen: measured with 1.31 on an H200, 1.0-1.3 s per
    change against 2 ms per inference (``benchmarks/cuda_shapes.py``).  A
    model fed there gets one canvas size and one batch size; on the CPU a change costs nothing."""
    providers = session.get_providers()
    return bool(providers) and providers[0] in _CUDA_PROVIDERS


def provider_entries(providers: Sequence[str]) -> list[str | tuple[str, dict[str, str]]]:
    """Providers with the options this workload wants.

    CUDA times every convolution algorithm by default; cuDNN's heuristic choice runs the face
    model in 2 ms on an H200 too, without the search (``benchmarks/cuda_shapes.py``; either way
    a model is fed a single shape there, ``one_input_shape``).
    """
    return [
        (name, {"cudnn_conv_algo_search": "HEURISTIC"}) if name == "CUDAExecutionProvider" else name
        for name in providers
    ]


@dataclass(frozen=True)
class InputSpec:
    name: str
    # None where the model leaves the dimension free.
    batch: int | None
    height: int | None
    width: int | None


EXECUTION_MODES = ("performance", "accuracy")


class MlSlots:
    """Inferences at once over every model of the process (imgproxy Pro's
    ``IMGPROXY_MAX_ML_CONCURRENCY``; 0: no limit of its own).  Detection, classification and the
    expression model share it, so a host with many workers bounds the CPU (or accelerator) and
    the memory that inference takes as a whole, where ``IMGPROXY_ML_NUM_STREAMS`` bounds each model."""

    def __init__(self, limit: int = 0) -> None:
        self.limit = limit
        self.semaphore = threading.BoundedSemaphore(limit) if limit > 0 else None


class StreamLimitedSession:
    """A session that runs at most ``streams`` inferences at once (imgproxy's
    ``IMGPROXY_ML_NUM_STREAMS``; 0: no limit of its own), and each of them in one of the
    process's shared ``slots``; the others wait their turn.  Each inference in flight holds its
    own working buffers, so the limits bound the models' memory on a host with many workers.
    An inference stops with its request (``REQUEST_DEADLINE``): past the deadline, or once the
    client has left."""

    def __init__(self, session: Any, streams: int, slots: MlSlots | None = None) -> None:
        self.session = session
        self.streams = threading.BoundedSemaphore(streams) if streams > 0 else None
        self.shared = slots.semaphore if slots is not None else None

    def run(self, *args: Any, **kwargs: Any) -> Any:
        # Always the model's own stream first, then the shared slot: one order, no deadlock.
        with self.streams or nullcontext(), self.shared or nullcontext():
            deadline = REQUEST_DEADLINE.get()
            if deadline is None or ort is None or "run_options" in kwargs:
                return self.session.run(*args, **kwargs)
            # Past the request's deadline, or once its client has left, onnxruntime stops before
            # its next operator (and raises: the pipeline answers the deadline's 503 or 499).
            options = ort.RunOptions()
            with enforced(deadline, lambda: setattr(options, "terminate", True)):
                return self.session.run(*args, run_options=options, **kwargs)

    def __getattr__(self, name: str) -> Any:  # inputs, metadata, providers: the session's own
        return getattr(self.session, name)


def thread_affinities(threads: int, cpus: Sequence[int]) -> str:
    """onnxruntime's affinity string for a session of ``threads``: each of its ``threads - 1``
    pool threads on one of ``cpus`` in turn (the thread calling ``run`` is a request's worker,
    which onnxruntime never pins).  Its processor ids count from 1."""
    return ";".join(str(cpus[index % len(cpus)] + 1) for index in range(threads - 1))


def open_session(model: Path, *, threads: int, providers: Sequence[str] | None, accurate: bool = False,
                 streams: int = 0, pinned: bool = False, slots: MlSlots | None = None) -> Any:
    """Create an inference session; raises ``RuntimeError`` with a readable reason on failure.

    ``accurate`` (imgproxy's ``accuracy`` execution mode): only the graph rewrites that keep the
    arithmetic as it is (constant folding, redundant nodes); the default also fuses layers, which
    is faster and may move scores in their last digits.  ``streams``: inferences at once (0: as
    many as the workers run).  ``pinned`` (imgproxy's ``IMGPROXY_ML_CPU_PINNING``): the session's
    own threads each stay on one CPU; with one thread there are none to pin.  ``slots``: the
    process's shared inference slots (``IMGPROXY_MAX_ML_CONCURRENCY``)."""
    if ort is None:
        raise RuntimeError("onnxruntime is not installed")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_BASIC if accurate
                                        else ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    # Requests already run in parallel worker threads: idle inference threads must sleep, not
    # spin, or they take CPU from the other requests.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if pinned and threads > 1:
        cpus = sorted(os.sched_getaffinity(0))  # the CPUs this process may use (its cgroup's)
        options.add_session_config_entry("session.intra_op_thread_affinities", thread_affinities(threads, cpus))
    options.log_severity_level = 3
    chosen = list(providers) if providers else default_providers()
    load_cuda_libraries(chosen)
    try:
        session = ort.InferenceSession(str(model), options, providers=provider_entries(chosen))
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise RuntimeError(f"cannot load {str(model)!r}: {_first_line(exc)}") from exc
    running = session.get_providers()
    if providers and CPU not in chosen and running[:1] != chosen[:1]:
        # onnxruntime falls back to the CPU when an accelerator cannot start (no GPU visible,
        # CUDA's libraries missing) and only warns; a setting that names no CPU means the GPU.
        raise RuntimeError(f"{chosen[0]} could not start (onnxruntime fell back to {', '.join(running)}); "
                           "add cpu to IMGPROXY_DETECTION_PROVIDERS to allow that")
    logger.info("detection model %s runs on %s", model.name, ", ".join(running))
    return StreamLimitedSession(session, streams, slots)


def input_spec(session: Any) -> InputSpec:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise RuntimeError(f"expected one image input, the model has {len(inputs)}")
    shape = list(inputs[0].shape)
    if len(shape) != 4:
        raise RuntimeError(f"expected an NCHW image input, the model's input has shape {shape}")
    if isinstance(shape[1], int) and shape[1] != 3:
        raise RuntimeError(f"expected 3 input channels, the model takes {shape[1]}")
    batch, height, width = (dim if isinstance(dim, int) and dim > 0 else None for dim in (shape[0], *shape[2:]))
    if batch not in (None, 1):
        raise RuntimeError(f"the model's batch size is fixed to {batch}; it must be 1 or dynamic")
    return InputSpec(inputs[0].name, batch, height, width)


def model_metadata(session: Any) -> dict[str, str]:
    return dict(session.get_modelmeta().custom_metadata_map)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
