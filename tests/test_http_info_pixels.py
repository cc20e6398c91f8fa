"""``/info``'s pixel options through the real server, each checked against an independent computation."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
import pyvips

from imgproxy_py.imaging.codecs.load import Limits
from imgproxy_py.info.describe import InfoTools, describe
from imgproxy_py.info.picture import decode_count
from imgproxy_py.options.info import InfoOptionsParser
from imgproxy_py.url.tokenizer import URLGrammar, parse_path
from tests.conftest import asset, rgb_image
from tests.servers import AppServer, Origin

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def info(client: httpx.Client, server: AppServer, options: str, url: str) -> dict[str, Any]:
    response = client.get(f"{server.base}/info/unsafe/{options}/plain/{url}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def pixels(data: bytes) -> np.ndarray:
    img = pyvips.Image.new_from_buffer(data, "")
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=[img.height, img.width, img.bands])


def png(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array.astype(np.uint8))
    height, width, bands = array.shape
    img = pyvips.Image.new_from_memory(array.tobytes(), width, height, bands, "uchar")
    return bytes(img.copy(interpretation="srgb").pngsave_buffer())


@pytest.fixture(scope="module")
def photo_url(origin: Origin, landscape_jpeg: bytes) -> str:
    return origin.add("/info/coffee.jpg", landscape_jpeg)


def test_average_against_numpy(client: httpx.Client, server: AppServer, photo_url: str,
                               landscape_jpeg: bytes) -> None:
    average = info(client, server, "avg:1", photo_url)["average"]
    expected = pixels(landscape_jpeg).reshape(-1, 3).mean(axis=0)
    assert average["A"] == 255
    assert np.abs(np.array([average["R"], average["G"], average["B"]]) - expected).max() <= 3


def test_average_ignores_transparent_pixels(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    half = np.zeros((40, 40, 4), np.uint8)
    half[:, :20] = (255, 0, 0, 0)  # transparent red
    half[:, 20:] = (0, 0, 255, 255)
    url = origin.add("/info/half.png", png(half))
    assert info(client, server, "avg:1", url)["average"] == {"R": 0, "G": 0, "B": 255, "A": 255}
    assert info(client, server, "avg:1:0", url)["average"] == {"R": 128, "G": 0, "B": 128, "A": 128}


def test_palette_holds_the_colours(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    blocks = np.zeros((30, 90, 3), np.uint8)
    blocks[:, :30], blocks[:, 30:60], blocks[:, 60:] = (200, 30, 30), (30, 200, 30), (30, 30, 200)
    url = origin.add("/info/blocks.png", png(blocks))
    palette = info(client, server, "p:4", url)["palette"]
    found = {(c["R"], c["G"], c["B"], c["A"]) for c in palette}
    assert found == {(200, 30, 30, 255), (30, 200, 30, 255), (30, 30, 200, 255)}


def test_palette_of_a_photo_is_bounded_and_typed(client: httpx.Client, server: AppServer, photo_url: str) -> None:
    palette = info(client, server, "p:8", photo_url)["palette"]
    assert len(palette) == 8
    assert all(set(c) == {"R", "G", "B", "A"} and all(0 <= v <= 255 for v in c.values()) for c in palette)


def test_dominant_colors(client: httpx.Client, server: AppServer, origin: Origin, photo_url: str) -> None:
    two = np.zeros((40, 80, 3), np.uint8)
    two[:, :40], two[:, 40:] = (220, 20, 20), (120, 110, 100)  # vivid red, a muted grey-brown
    url = origin.add("/info/two.png", png(two))
    colors = info(client, server, "dc:1", url)["dominant_colors"]
    assert colors["vibrant"] == {"R": 220, "G": 20, "B": 20}
    assert colors["muted"] == {"R": 120, "G": 110, "B": 100}
    built = info(client, server, "dc:1:1", photo_url)["dominant_colors"]
    names = {"vibrant", "light_vibrant", "dark_vibrant", "muted", "light_muted", "dark_muted"}
    assert set(built) == names
    assert all(set(c) == {"R", "G", "B"} for c in built.values())


def _base83(text: str) -> int:
    value = 0
    for char in text:
        value = value * 83 + BASE83.index(char)
    return value


def _to_linear(value: np.ndarray) -> np.ndarray:
    v = value / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _to_srgb(value: float) -> float:
    return 255 * (value * 12.92 if value <= 0.0031308 else 1.055 * value ** (1 / 2.4) - 0.055)


def test_blurhash_dc_is_the_linear_average(client: httpx.Client, server: AppServer, photo_url: str,
                                            landscape_jpeg: bytes) -> None:
    blurhash = info(client, server, "bh:4:3", photo_url)["blurhash"]
    assert len(blurhash) == 4 + 2 * 4 * 3 and _base83(blurhash[0]) == (4 - 1) + (3 - 1) * 9
    dc = _base83(blurhash[2:6])
    got = np.array([dc >> 16, (dc >> 8) & 255, dc & 255])
    linear = _to_linear(pixels(landscape_jpeg).reshape(-1, 3).astype(float)).mean(axis=0)
    expected = np.array([_to_srgb(v) for v in linear])
    assert np.abs(got - expected).max() <= 4


def test_thumb_hash_average_and_perceptual_hash(client: httpx.Client, server: AppServer, photo_url: str,
                                                landscape_jpeg: bytes) -> None:
    import imagehash
    from PIL import Image
    from thash import thumb_hash_to_average_rgba

    body = info(client, server, "th:1/ph:1", photo_url)
    thumb = body["thumb_hash"]
    assert thumb == thumb.upper() and len(thumb) % 2 == 0
    r, g, b, a = thumb_hash_to_average_rgba(list(bytes.fromhex(thumb)))
    expected = pixels(landscape_jpeg).reshape(-1, 3).mean(axis=0) / 255
    assert np.abs(np.array([r, g, b]) - expected).max() < 0.05 and a == 1
    reference = imagehash.phash(Image.fromarray(pixels(landscape_jpeg)))
    ours = imagehash.hex_to_hash(body["perceptual_hash"])
    assert len(body["perceptual_hash"]) == 16 and ours - reference <= 6


@pytest.mark.parametrize("source", ["pil123p.png", "p_trns_single.png"])
def test_thumb_hash_of_a_transparent_image(client: httpx.Client, server: AppServer, source: str) -> None:
    """ThumbHash keeps the alpha: its average matches the image's (the thumbhash package crashed
    on any transparent image, a 500)."""
    from thash import thumb_hash_to_average_rgba

    body = info(client, server, "th:1", f"local:///core/{source}")
    average = thumb_hash_to_average_rgba(list(bytes.fromhex(body["thumb_hash"])))
    assert average is not None
    alpha = pyvips.Image.new_from_file(str(asset(source))).colourspace("srgb")[3].avg() / 255
    assert alpha < 0.99 and abs(average[3] - alpha) < 0.1


def test_crop_compass_gravities(client: httpx.Client, server: AppServer) -> None:
    url = "local:///core/hopper.jpg"  # 128x128
    # Centred as imgproxy's calc_position does it: (128 - 50 + 1) / 2 rounded to even is 40.
    assert info(client, server, "c:100:50", url)["crop"] == {"left": 14 / 128, "top": 40 / 128,
                                                               "width": 100 / 128, "height": 50 / 128}
    assert info(client, server, "c:0.5:0.25:nowe", url)["crop"] == {"left": 0, "top": 0, "width": 0.5,
                                                                     "height": 0.25}
    assert info(client, server, "c:64:64:soea:4:8", url)["crop"] == {"left": 60 / 128, "top": 56 / 128,
                                                                      "width": 0.5, "height": 0.5}
    assert info(client, server, "c:500:500", url)["crop"] == {"left": 0, "top": 0, "width": 1, "height": 1}
    smart = info(client, server, "c:40:40:sm", url)["crop"]
    assert 0 <= smart["left"] <= 1 - smart["width"] and 0 <= smart["top"] <= 1 - smart["height"]


@pytest.fixture(scope="module")
def scene_url(origin: Origin) -> str:
    """Coffee with the astronaut's portrait on the right: the face at about x 925-1000, y 20-100 of 1200x400."""
    from skimage import data

    background = rgb_image(data.coffee()).resize(2.0).crop(0, 0, 1200, 400)
    portrait = rgb_image(data.astronaut()).resize(400 / 512)
    scene = background.insert(portrait, 800, 0).copy(interpretation="srgb")
    return origin.add("/info/scene.jpg", bytes(scene.jpegsave_buffer(Q=92)))


def test_objects_and_object_crop(client: httpx.Client, server: AppServer, scene_url: str) -> None:
    body = info(client, server, "do:1/c:300:400:obj:face", scene_url)
    faces = [o for o in body["objects"] if o["class_name"] == "face"]
    assert len(faces) == 1 and set(faces[0]) == {"class_id", "class_name", "confidence", "left", "top", "width",
                                                  "height"}
    face = faces[0]
    assert face["left"] > 925 / 1200 - 0.03 and face["left"] + face["width"] < 1000 / 1200 + 0.03
    crop = body["crop"]
    assert crop["width"] == 0.25 and crop["height"] == 1
    assert crop["left"] <= face["left"] and face["left"] + face["width"] <= crop["left"] + crop["width"]
    # objects_position: the face at the window's right edge.
    east = info(client, server, "c:300:400:obj:face/op:ea", scene_url)["crop"]
    assert abs(east["left"] + east["width"] - (face["left"] + face["width"])) < 0.01


def test_one_decode_shared_by_every_pixel_option(client: httpx.Client, server: AppServer, photo_url: str) -> None:
    before = decode_count()
    body = info(client, server, "avg:1/p:4/dc:1/bh:3:3/th:1/ph:1/a:1:1/c:100:100:sm", photo_url)
    assert decode_count() == before + 1
    assert {"average", "palette", "dominant_colors", "blurhash", "thumb_hash", "perceptual_hash", "crop"} <= set(body)


def test_header_options_never_decode_a_12_mp_jpeg(client: httpx.Client, server: AppServer, origin: Origin,
                                                   big_jpeg: bytes) -> None:
    url = origin.add("/info/big.jpg", big_jpeg)
    before = decode_count()
    body = info(client, server, "cs:1/b:1/sf:1/pn:1/a:1/exif:1/iptc:1/xmp:1", url)
    assert decode_count() == before  # no pixel was decoded for the header options
    assert (body["width"], body["height"], body["bands"], body["alpha"]) == (4000, 3000, 3, False)
    # The same, timed in-process (no download): far below what decoding every pixel costs.
    options = InfoOptionsParser().parse(parse_path("/unsafe/cs:1/b:1/sf:1/pn:1/a:1/plain/x", URLGrammar()).options)
    tools = InfoTools(limits=Limits(50_000_000, 1, 0))
    header_times = []
    for _ in range(3):
        started = time.process_time()
        describe(big_jpeg, "", options, tools, "big")
        header_times.append(time.process_time() - started)
    started = time.process_time()
    pyvips.Image.new_from_buffer(big_jpeg, "").avg()
    full_decode = time.process_time() - started
    assert min(header_times) < full_decode / 5, (header_times, full_decode)
    assert info(client, server, "avg:1", url)["average"]["A"] == 255
    assert decode_count() == before + 1  # a pixel option decodes once (shrunk on load, not 12 MP)


def test_classify_with_a_real_onnx_model(client: httpx.Client, server: AppServer,
                                         start_server: Callable[..., AppServer], origin: Origin,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    # A fixed linear layer over the mean colour: logits = 10 * mean(RGB in 0-1), softmax over red/green/blue.
    folder = tmp_path_factory.mktemp("classify")
    nodes = [helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2], keepdims=0),
             helper.make_node("MatMul", ["mean", "weights"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["scores"], axis=1)]
    weights = helper.make_tensor("weights", TensorProto.FLOAT, [3, 3], (10 * np.eye(3)).flatten().tolist())
    graph = helper.make_graph(nodes, "mean_colour", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                                   [1, 16, 16, 3])],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 3])], [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / "colours.onnx"))
    (folder / "classes.txt").write_text("red\ngreen\nblue\n")
    classifying = start_server(IMGPROXY_CLASSIFICATION_NET=str(folder / "colours.onnx"),
                          IMGPROXY_CLASSIFICATION_CLASSES=str(folder / "classes.txt"),
                          IMGPROXY_CLASSIFICATION_NET_SIZE="16", IMGPROXY_CLASSIFICATION_NORMALIZATION="half",
                          IMGPROXY_CLASSIFICATION_THRESHOLD="0")
    green = np.zeros((50, 80, 3), np.uint8)
    green[...] = (10, 230, 20)
    url = origin.add("/info/green.png", png(green))
    classes = info(client, classifying, "cl:2", url)["classes"]
    assert [c["name"] for c in classes] == ["green", classes[1]["name"]] and classes[0]["class_id"] == 1
    assert classes[0]["confidence"] > 0.99 and classes[0]["confidence"] > classes[1]["confidence"]
    only_blue = info(client, classifying, "cl:3:blue", url)["classes"]
    assert [c["name"] for c in only_blue] == ["blue"] and only_blue[0]["confidence"] < 0.01
    # Without a model classify is refused (501), never answered without the field.
    response = client.get(f"{server.base}/info/unsafe/cl:1/plain/{url}")
    assert response.status_code == 501


def test_video_meta_and_frame(client: httpx.Client, server: AppServer) -> None:
    from imgproxy_py.media.video import VideoConfig
    from imgproxy_py.media.video_frame import extract_frame

    path = asset("../media/carphone_pristine.mp4").resolve()
    body = info(client, server, f"vts:1/chs:md5/hs:md5:{'0' * 32}/avg:1", "local:///media/carphone_pristine.mp4")
    # As imgproxy: a video's digest is neither calculated nor checked (the wrong one above passes).
    assert body["size"] == path.stat().st_size and "hashsums" not in body
    assert "mp4" in body["format"].split(",") and body["mime_type"] == "video/mp4"
    assert body["video_meta"]["major_brand"] == "isom"
    stream = body["video_streams"][0]
    assert stream["type"] == "video" and stream["codec"] == "h264" and abs(stream["fps"] - 29.97) < 0.01
    assert abs(stream["duration"] - 4.0) < 0.1
    frame = extract_frame(path.read_bytes(), second=1.0, config=VideoConfig())
    assert (body["width"], body["height"]) == (frame.width, frame.height)
    assert set(body["average"]) == {"R", "G", "B", "A"}
