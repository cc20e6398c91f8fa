"""``DetectorSet``: the face detector and the optional object detector behind one ``detect`` call."""

from __future__ import annotations

import ast
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import pyvips

from imgproxy_py.detection.centerface import PAD_FILL as FACE_PAD_FILL
from imgproxy_py.detection.centerface import CenterFace
from imgproxy_py.detection.config import DetectionConfig
from imgproxy_py.detection.geometry import FloatArray, Letterbox, UInt8Array
from imgproxy_py.detection.preprocess import resize_exact, shrink_to_fit, to_array, to_srgb_uchar
from imgproxy_py.detection.sessions import MlSlots, input_spec, model_metadata, open_session
from imgproxy_py.detection.types import Detection
from imgproxy_py.detection.yolo import PAD_FILL as OBJECT_PAD_FILL
from imgproxy_py.detection.yolo import YoloDetector

logger = logging.getLogger("imgproxy_py.detection")

FACE_CLASS = "face"


class Detector(Protocol):
    """A detector a plugin adds (``imgproxy_py.plugins``): it names its classes and finds them.

    ``detect`` gets the picture to look at (sRGB, any size) and returns boxes in its pixels; the
    set gives each class its id and merges the results with the built-in models'."""

    @property
    def class_names(self) -> tuple[str, ...]: ...

    def detect(self, image: pyvips.Image) -> Sequence[Detection]: ...


class DetectionError(RuntimeError):
    """Inference failed for one image (the models themselves loaded fine)."""


@dataclass(frozen=True)
class _Prepared:
    """The downscaled sRGB copy every model starts from, and its scale relative to the source."""

    picture: pyvips.Image
    scale_x: float
    scale_y: float


class DetectorSet:
    """Loads the configured models once; ``detect`` is blocking and safe to call from many threads.

    Models that fail to load are left out and their reasons are in ``errors`` (as for
    ``DetectionConfig.from_env``, nothing is raised), so start-up can report them together.
    """

    def __init__(self, config: DetectionConfig, extra: Sequence[Detector] = (), slots: MlSlots | None = None) -> None:
        self.config = config
        self._extra = tuple(extra)
        self._slots = slots
        self._errors: list[str] = []
        self._face: CenterFace | None = None
        self._objects: YoloDetector | None = None
        for note in config.notes:
            logger.warning("%s", note)
        if config.face_enabled and config.face_model is not None:
            self._face = self._load_face(config)
        self._object_names: tuple[str, ...] = ()
        if config.object_model is not None:
            self._objects, self._object_names = self._load_objects(config)

        # One id per name: a "face" class of the object model shares the face detector's id.
        names: list[str] = [FACE_CLASS] if self._face is not None else []
        names.extend(name for name in dict.fromkeys(self._object_names) if name not in names)
        for detector in self._extra:
            names.extend(name for name in detector.class_names if name not in names)
        self._class_names = tuple(names)
        self._object_class_ids = np.array([names.index(name) for name in self._object_names], dtype=np.intp)
        self._class_weights = self._merge_weights(config)
        if self.enabled:
            logger.info("detection enabled for %d classes", len(names))

    # -- public API ---------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self._face is not None or self._objects is not None or bool(self._extra)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._class_names

    @property
    def class_weights(self) -> Mapping[str, float]:
        """Weight of every class: the classes file's ``name=weight`` values, 1 otherwise.

        Use them for ``select_focus`` when a request names no weights of its own.
        """
        return self._class_weights

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(self._errors)

    def detect(self, image: pyvips.Image) -> tuple[Detection, ...]:
        """Detections in ``image``'s pixel coordinates, clipped to it, best first."""
        if not self.enabled or image.width < 1 or image.height < 1:
            return ()
        try:
            prepared = self._prepare(image)
            found: list[Detection] = []
            if self._face is not None:
                found.extend(self._detect_faces(self._face, prepared, image.width, image.height))
            if self._objects is not None:
                found.extend(self._detect_objects(self._objects, prepared, image.width, image.height))
            for detector in self._extra:
                found.extend(self._own_ids(detector.detect(prepared.picture), prepared, image.width, image.height))
        except pyvips.Error as exc:
            raise DetectionError(f"cannot read the image for detection: {exc}") from exc
        except Exception as exc:  # onnxruntime reports inference failures with its own types
            raise DetectionError(f"detection failed: {exc}") from exc
        found.sort(key=lambda detection: detection.confidence, reverse=True)
        return tuple(found)

    def _own_ids(self, found: Sequence[Detection], prepared: _Prepared, width: int,
                 height: int) -> list[Detection]:
        """A plugin's detections in the source's pixels, with this set's class ids."""
        out = []
        for d in found:
            if d.class_name not in self._class_names:
                continue  # a class the plugin did not declare
            left, top = max(0.0, d.left / prepared.scale_x), max(0.0, d.top / prepared.scale_y)
            w = min(d.width / prepared.scale_x, width - left)
            h = min(d.height / prepared.scale_y, height - top)
            if w > 0 and h > 0:
                out.append(replace(d, class_id=self._class_names.index(d.class_name), left=left, top=top,
                                   width=w, height=h, landmarks=tuple(
                                       (x / prepared.scale_x, y / prepared.scale_y) for x, y in d.landmarks)))
        return out

    # -- loading --------------------------------------------------------------------------------

    def _load_face(self, config: DetectionConfig) -> CenterFace | None:
        assert config.face_model is not None
        try:
            session = open_session(config.face_model, threads=config.threads, providers=config.providers,
                                   accurate=config.accurate, streams=config.streams, pinned=config.pinned,
                                   slots=self._slots)
            spec = input_spec(session)
            if spec.height is not None or spec.width is not None:
                raise RuntimeError(
                    "the face model's input size is fixed; make it dynamic with models/tools/prepare_centerface.py"
                )
            detector = CenterFace(
                session,
                net_size=config.face_net_size,
                coarse_net_size=config.face_coarse_net_size,
                threshold=config.face_confidence_threshold,
                nms_threshold=config.face_nms_threshold,
            )
            outputs = detector.run(detector.blank_canvas())
            if len(outputs) < 4 or outputs[0].shape[1] != 1:
                raise RuntimeError("the face model's outputs are not CenterFace's heatmap, scale, offset, landmarks")
        except Exception as exc:  # onnxruntime's own error types included: report, do not crash
            self._errors.append(f"IMGPROXY_FACE_DETECTION: {config.face_model}: {exc}")
            return None
        return detector

    def _load_objects(self, config: DetectionConfig) -> tuple[YoloDetector | None, tuple[str, ...]]:
        assert config.object_model is not None
        name = "IMGPROXY_OBJECT_DETECTION_NET"
        try:
            session = open_session(config.object_model, threads=config.threads, providers=config.providers,
                                   accurate=config.accurate, streams=config.streams, pinned=config.pinned,
                                   slots=self._slots)
            spec = input_spec(session)
            names = config.object_classes or _names_from_metadata(model_metadata(session))
            if not names:
                raise RuntimeError(
                    "no class names: set IMGPROXY_OBJECT_DETECTION_CLASSES (the model has no names metadata)"
                )
            net_width = spec.width or config.object_net_size
            net_height = spec.height or config.object_net_size
            if (net_width, net_height) != (config.object_net_size,) * 2:
                logger.info(
                    "object model input is fixed to %dx%d; IMGPROXY_OBJECT_DETECTION_NET_SIZE=%d is not used",
                    net_width,
                    net_height,
                    config.object_net_size,
                )
            detector = YoloDetector(
                session,
                net_type=config.object_net_type,
                num_classes=len(names),
                net_width=net_width,
                net_height=net_height,
                threshold=config.object_confidence_threshold,
                nms_threshold=config.object_nms_threshold,
                swap_rb=config.swap_rb,
            )
            self._check_layout(detector)
        except Exception as exc:  # onnxruntime's own error types included: report, do not crash
            self._errors.append(f"{name}: {exc}")
            return None, ()
        return detector, tuple(names)

    @staticmethod
    def _check_layout(detector: YoloDetector) -> None:
        """Run once on a blank input so that a wrong net type or class list shows at start-up."""
        canvas = np.full((detector.net_height, detector.net_width, 3), OBJECT_PAD_FILL, np.uint8)
        outputs = [np.asarray(out) for out in detector.session.run(None, {detector.input_name: detector.blob(canvas)})]
        try:
            detector.decode(outputs)
        except ValueError as exc:
            shapes = ", ".join(str(out.shape) for out in outputs)
            raise ValueError(
                f"outputs {shapes} do not fit IMGPROXY_OBJECT_DETECTION_NET_TYPE={detector.net_type.value} "
                f"with {detector.num_classes} classes ({exc})"
            ) from None

    def _merge_weights(self, config: DetectionConfig) -> Mapping[str, float]:
        weights = dict.fromkeys(self._class_names, 1.0)
        weights.update({name: weight for name, weight in config.class_weights.items() if name in weights})
        return MappingProxyType(weights)

    # -- inference ------------------------------------------------------------------------------

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """What a ``width`` x ``height`` picture is shrunk to before the models see it (the most
        demanding model's scale, never an enlargement): a copy at least this large gives the
        same detections as the full picture."""
        scales = []
        if self._face is not None:
            scales.append(self._face.letterbox(width, height).scale)
        if self._objects is not None:
            scales.append(self._objects.letterbox(width, height).scale)
        scale = max(scales, default=1.0)
        return max(1, min(width, round(width * scale))), max(1, min(height, round(height * scale)))

    def _prepare(self, image: pyvips.Image) -> _Prepared:
        # One downscale of the (possibly huge) source to what the most demanding model needs;
        # each model then resizes this small copy.
        width, height = self.input_size(image.width, image.height)
        small = to_srgb_uchar(shrink_to_fit(image, width, height))
        # Rendered once into bytes that the new image holds on to.  (copy_memory() would hand
        # back an image that is already in memory without keeping its buffer alive.)
        rendered = pyvips.Image.new_from_memory(small.write_to_memory(), small.width, small.height, 3, "uchar")
        return _Prepared(rendered, small.width / image.width, small.height / image.height)

    @staticmethod
    def _canvas(prepared: _Prepared, letterbox: Letterbox, fill: int) -> UInt8Array:
        content = resize_exact(prepared.picture, letterbox.content_width, letterbox.content_height)
        return letterbox.place(to_array(content), fill)

    def _detect_faces(self, face: CenterFace, prepared: _Prepared, width: int, height: int) -> list[Detection]:
        picture = prepared.picture
        merged = face.detect_all(
            picture.width, picture.height, lambda letterbox: self._canvas(prepared, letterbox, FACE_PAD_FILL)
        )
        boxes = self._to_image(merged.boxes, prepared)
        marks = self._to_image(merged.landmarks, prepared)
        detections = []
        for box, score, points in zip(boxes, merged.scores, marks, strict=True):
            landmarks = tuple((float(points[i]), float(points[i + 1])) for i in range(0, len(points), 2))
            detection = _detection(0, FACE_CLASS, float(score), box, width, height, landmarks)
            if detection is not None:
                detections.append(detection)
        return detections

    def _detect_objects(self, objects: YoloDetector, prepared: _Prepared, width: int, height: int) -> list[Detection]:
        letterbox = objects.letterbox(prepared.picture.width, prepared.picture.height)
        raw = objects.detect(self._canvas(prepared, letterbox, OBJECT_PAD_FILL))
        boxes = self._to_image(letterbox.to_source(raw.boxes), prepared)
        detections = []
        for box, score, model_class in zip(boxes, raw.scores, raw.class_ids, strict=True):
            class_id = int(self._object_class_ids[model_class])
            detection = _detection(class_id, self._class_names[class_id], float(score), box, width, height)
            if detection is not None:
                detections.append(detection)
        return detections

    @staticmethod
    def _to_image(points: FloatArray, prepared: _Prepared) -> FloatArray:
        out = points.astype(np.float32)
        out[:, 0::2] /= prepared.scale_x
        out[:, 1::2] /= prepared.scale_y
        return out


def _detection(
    class_id: int,
    class_name: str,
    confidence: float,
    corners: FloatArray,
    width: int,
    height: int,
    landmarks: tuple[tuple[float, float], ...] = (),
) -> Detection | None:
    left = min(max(float(corners[0]), 0.0), float(width))
    top = min(max(float(corners[1]), 0.0), float(height))
    right = min(max(float(corners[2]), left), float(width))
    bottom = min(max(float(corners[3]), top), float(height))
    if right - left < 1 or bottom - top < 1:
        return None
    return Detection(class_id, class_name, confidence, left, top, right - left, bottom - top, landmarks)


def _names_from_metadata(metadata: dict[str, str]) -> tuple[str, ...]:
    """Class names from an Ultralytics export's ``names`` metadata (``{0: 'person', ...}``)."""
    text = metadata.get("names")
    if not text:
        return ()
    try:
        parsed: Any = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return ()
    if isinstance(parsed, dict):
        try:
            return tuple(str(parsed[index]) for index in range(len(parsed)))
        except KeyError:
            return ()
    if isinstance(parsed, list | tuple):
        return tuple(str(name) for name in parsed)
    return ()
