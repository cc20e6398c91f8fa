"""URLs written by imgproxy's official JavaScript client work on imgproxy_py unchanged.

Every processing and info option the client knows is written by ``@imgproxy/imgproxy-node``
(through ``@imgproxy/imgproxy-js-core``), read back by the server's parser and compared with
the same option spelt as imgproxy's docs spell it; then every URL is requested from a real
server, signed with a key and salt, with its source as Base64, plain text and encrypted.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import pyvips

from imgproxy_py.config import load_config
from imgproxy_py.errors import ImgproxyError
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.url.tokenizer import parse_path
from tests.js_clients import generate
from tests.servers import ASSETS, AppServer, Origin

KEY = "943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881"
SALT = "520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5"
ENCRYPTION_KEY = "1eb5b0e971ad7f45324c1bb15c947cb207c43152fa5c6c7f35c4f36e0c18e0f1"
SOURCE = "http://origin.test/images/hopper.jpg"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


WATERMARK_URL = "http://origin.test/images/hopper.png"

# (id, the client's options object, the same option as imgproxy's docs write it)
PROCESSING_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("resize", {"resize": {"resizing_type": "fill", "width": 300, "height": 200, "enlarge": 1,
                           "extend": {"extend": 1, "gravity": {"type": "so"}}}}, "rs:fill:300:200:1:1:so"),
    ("size", {"size": {"width": 100, "height": 50}}, "s:100:50"),
    ("resizing_type", {"resizing_type": "fill-down"}, "rt:fill-down"),
    ("resizing_algorithm", {"resizing_algorithm": "lanczos2"}, "ra:lanczos2"),
    ("width", {"width": 150}, "w:150"),
    ("height", {"height": 90}, "h:90"),
    ("min_width", {"min_width": 40}, "mw:40"),
    ("min_height", {"min_height": 40}, "mh:40"),
    ("zoom", {"zoom": {"zoom_x": 1.5, "zoom_y": 2}}, "z:1.5:2"),
    ("dpr", {"dpr": 2}, "dpr:2"),
    ("enlarge", {"enlarge": 1}, "el:1"),
    ("extend", {"extend": {"extend": 1, "gravity": {"type": "no", "x_offset": 5, "y_offset": 6}}}, "ex:1:no:5:6"),
    ("extend_aspect_ratio", {"extend_aspect_ratio": {"extend": 1, "gravity": {"type": "ce"}}}, "exar:1:ce"),
    ("gravity_smart", {"gravity": {"type": "sm"}}, "g:sm"),
    ("gravity_focus_point", {"gravity": {"type": "fp", "x": 0.5, "y": 0.25}}, "g:fp:0.5:0.25"),
    ("gravity_offsets", {"gravity": {"type": "soea", "x_offset": 10, "y_offset": 5}}, "g:soea:10:5"),
    ("gravity_objects", {"gravity": {"type": "obj", "class_names": ["face"]}}, "g:obj:face"),
    ("gravity_objects_weighted", {"gravity": {"type": "objw", "class_weights": [{"class": "face", "weight": 2}]}},
     "g:objw:face:2"),
    ("objects_position", {"objects_position": {"type": "no", "xOffset": 0.1, "yOffset": 0.2}}, "op:no:0.1:0.2"),
    ("crop", {"crop": {"width": 100, "height": 80, "gravity": {"type": "nowe"}}}, "c:100:80:nowe"),
    ("crop_aspect_ratio", {"crop_aspect_ratio": {"aspect_ratio": 1.5, "enlarge": True}}, "car:1.5:1"),
    ("crop_objects", {"crop_objects": {"scale_factor": 1.2, "class_names": ["face"]}}, "cob:1.2:face"),
    ("trim", {"trim": {"threshold": 10, "color": "ff00ff", "equal_hor": 1, "equal_ver": 0}}, "t:10:ff00ff:1:0"),
    ("padding", {"padding": {"top": 1, "right": 2, "bottom": 3, "left": 4}}, "pd:1:2:3:4"),
    ("auto_rotate", {"auto_rotate": False}, "ar:0"),
    ("rotate", {"rotate": 90}, "rot:90"),
    ("flip", {"flip": {"horizontal": True, "vertical": False}}, "fl:1:0"),
    ("background", {"background": "ff0000"}, "bg:ff0000"),
    ("background_rgb", {"background": {"r": 255, "g": 10, "b": 0}}, "bg:255:10:0"),
    ("background_alpha", {"background": "ff0000", "background_alpha": 0.5}, "bg:ff0000/bga:0.5"),
    ("adjust", {"adjust": {"brightness": 10, "contrast": 1.2, "saturation": 0.8}}, "a:10:1.2:0.8"),
    ("brightness", {"brightness": 10}, "br:10"),
    ("contrast", {"contrast": 1.2}, "contrast:1.2"),
    ("saturation", {"saturation": 0.5}, "sa:0.5"),
    ("monochrome", {"monochrome": {"intensity": 0.8, "color": "b3b3b3"}}, "mc:0.8:b3b3b3"),
    ("duotone", {"duotone": {"intensity": 1, "color1": "000000", "color2": "ffffff"}}, "dt:1:000000:ffffff"),
    ("blur", {"blur": 2}, "bl:2"),
    ("sharpen", {"sharpen": 1}, "sh:1"),
    ("pixelate", {"pixelate": 5}, "pix:5"),
    ("unsharp_masking", {"unsharp_masking": {"mode": "always", "weight": 1, "divider": 24}}, "ush:always:1:24"),
    ("blur_areas", {"blur_areas": {"sigma": 5, "areas": [{"left": 0.1, "top": 0.1, "width": 0.2, "height": 0.3}]}},
     "ba:5:0.1:0.1:0.2:0.3"),
    ("progressive_blur", {"progressive_blur": {"sigma": 5, "direction": "down", "start": 0.1, "stop": 0.9}},
     "pbl:5:down:0.1:0.9"),
    ("blur_detections", {"blur_detections": {"sigma": 5, "class_names": ["face"]}}, "bd:5:face"),
    ("draw_detections", {"draw_detections": {"draw": 1, "class_names": ["face"]}}, "dd:1:face"),
    ("colorize", {"colorize": {"opacity": 0.5, "color": "ff0000", "keepAlpha": True}}, "col:0.5:ff0000:1"),
    ("gradient", {"gradient": {"opacity": 0.5, "color": "000000", "direction": "up", "start": 0, "stop": 1}},
     "gr:0.5:000000:up:0:1"),
    ("watermark", {"watermark": {"opacity": 0.5, "position": "soea", "x_offset": 10, "y_offset": 10, "scale": 0.2}},
     "wm:0.5:soea:10:10:0.2"),
    ("watermark_chessboard", {"watermark": {"opacity": 0.5, "position": "ch"}}, "wm:0.5:ch"),
    ("watermark_url", {"watermark": {"opacity": 1}, "watermark_url": b64(WATERMARK_URL)},
     f"wm:1/wmu:{b64(WATERMARK_URL)}"),
    ("watermark_text", {"watermark": {"opacity": 1}, "watermark_text": b64("Hello")}, f"wm:1/wmt:{b64('Hello')}"),
    ("watermark_size", {"watermark": {"opacity": 1}, "watermark_size": {"width": 50, "height": 20}}, "wm:1/wms:50:20"),
    ("watermark_shadow", {"watermark": {"opacity": 1}, "watermark_shadow": 2}, "wm:1/wmsh:2"),
    ("style", {"style": b64("svg { fill: red }")}, f"st:{b64('svg { fill: red }')}"),
    ("strip_metadata", {"strip_metadata": False}, "sm:0"),
    ("keep_copyright", {"keep_copyright": False}, "kcr:0"),
    ("dpi", {"dpi": 300}, "dpi:300"),
    ("strip_color_profile", {"strip_color_profile": False}, "scp:0"),
    ("preserve_hdr", {"preserve_hdr": True}, "ph:1"),
    ("color_profile", {"color_profile": "srgb"}, "cp:srgb"),
    ("enforce_thumbnail", {"enforce_thumbnail": True}, "eth:1"),
    ("quality", {"quality": 80}, "q:80"),
    ("format_quality", {"format_quality": [{"format": "jpg", "quality": 70}, {"format": "webp", "quality": 60}]},
     "fq:jpg:70:webp:60"),
    ("autoquality", {"autoquality": {"method": "dssim", "target": 0.02, "min_quality": 60, "max_quality": 90}},
     "aq:dssim:0.02:60:90"),
    ("max_bytes", {"max_bytes": 100000}, "mb:100000"),
    ("jpeg_options", {"jpeg_options": {"progressive": True, "no_subsample": True, "trellis_quant": False,
                                       "overshoot_deringing": False, "optimize_scans": True, "quant_table": 3}},
     "jpgo:1:1:0:0:1:3"),
    ("png_options", {"png_options": {"interlaced": True, "quantize": True, "quantization_colors": 64}}, "pngo:1:1:64"),
    ("webp_options", {"webp_options": "lossless"}, "webpo:lossless"),
    ("avif_options", {"avif_options": "on"}, "avifo:on"),
    ("format", {"format": "png"}, "f:png"),
    ("page", {"page": 0}, "pg:0"),
    ("pages", {"pages": 2}, "pgs:2"),
    ("disable_animation", {"disable_animation": True}, "da:1"),
    ("video_thumbnail_second", {"video_thumbnail_second": 2}, "vts:2"),
    ("video_thumbnail_keyframes", {"video_thumbnail_keyframes": True}, "vtk:1"),
    ("video_thumbnail_tile", {"video_thumbnail_tile": {"step": 1, "columns": 2, "rows": 2, "tile_width": 64,
                                                       "tile_height": 64}}, "vtt:1:2:2:64:64"),
    ("video_thumbnail_animation", {"video_thumbnail_animation": {"step": 1, "delay": 100, "frames": 3,
                                                                 "frame_width": 64, "frame_height": 64}},
     "vta:1:100:3:64:64"),
    ("fallback_image_url", {"fallback_image_url": b64(WATERMARK_URL)}, f"fiu:{b64(WATERMARK_URL)}"),
    ("skip_processing", {"skip_processing": ["png", "webp"]}, "skp:png:webp"),
    ("raw", {"raw": True}, "raw:1"),
    ("cachebuster", {"cachebuster": "v1"}, "cb:v1"),
    ("bypass_cache", {"bypass_cache": True}, "bc:1"),
    ("cache_tags", {"cache_tags": ["a", "b"]}, "ct:a:b"),
    ("expires", {"expires": 4102444800}, "exp:4102444800"),
    ("filename", {"filename": {"name": "photo"}}, "fn:photo"),
    ("return_attachment", {"return_attachment": True}, "att:1"),
    ("preset", {"preset": ["js_small"]}, "pr:js_small"),
    ("max_src_resolution", {"max_src_resolution": 50}, "msr:50"),
    ("max_src_file_size", {"max_src_file_size": 10485760}, "msfs:10485760"),
    ("max_animation_frames", {"max_animation_frames": 10}, "maf:10"),
    ("max_animation_frame_resolution", {"max_animation_frame_resolution": 50}, "mafr:50"),
    ("max_result_dimension", {"max_result_dimension": 4096}, "mrd:4096"),
]

# (id, the client's info options object, the same options as imgproxy's docs write them)
INFO_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("size", {"size": False}, "s:0"),
    ("format", {"format": False}, "f:0"),
    ("dimensions", {"dimensions": False}, "d:0"),
    ("exif", {"exif": True}, "exif:1"),
    ("iptc", {"iptc": True}, "iptc:1"),
    ("xmp", {"xmp": True}, "xmp:1"),
    ("video_meta", {"video_meta": True}, "vm:1"),
    ("detect_objects", {"detect_objects": True}, "do:1"),
    ("classify", {"classify": {"top_k": 3}}, "cl:3"),
    ("palette", {"palette": 8}, "p:8"),
    ("average", {"average": {"average": True, "ignore_transparent": False}}, "avg:1:0"),
    ("dominant_colors", {"dominant_colors": {"dominant_colors": True, "build_missed": True}}, "dc:1:1"),
    ("blurhash", {"blurhash": {"x_components": 4, "y_components": 3}}, "bh:4:3"),
    ("thumbhash", {"thumb_hash": True}, "th:1"),
    ("perceptual_hash", {"perceptual_hash": True}, "ph:1"),
    ("calc_hashsums", {"calcHashsums": ["md5", "sha256"]}, "chs:md5:sha256"),
    ("pages_number", {"pages_number": True}, "pn:1"),
    ("crop", {"crop": {"width": 50, "height": 40, "gravity": {"type": "sm"}}}, "c:50:40:sm"),
    ("page", {"page": 0}, "pg:0"),
    ("video_thumbnail_second", {"video_thumbnail_second": 2}, "vts:2"),
    ("video_thumbnail_keyframes", {"video_thumbnail_keyframes": True}, "vtk:1"),
    ("cachebuster", {"cachebuster": "v1"}, "cb:v1"),
    ("expires", {"expires": 4102444800}, "exp:4102444800"),
    ("preset", {"preset": ["js_info"]}, "pr:js_info"),
    ("max_src_resolution", {"max_src_resolution": 50}, "msr:50"),
    ("max_src_file_size", {"max_src_file_size": 10485760}, "msfs:10485760"),
]

# The client (1.9.0) declares ``watermark_rotate`` in its types but writes nothing for it, so
# that option is tested with the URLs imgproxy's docs write (tests/test_url_table.py and the
# watermark tests), not here.

PRESETS = "js_small=rs:fit:40:40,js_info=s:0"
INFO_PRESETS = "js_info=s:0"  # info presets hold info options only (rs would stop the server)
ENV = {
    "IMGPROXY_KEY": KEY, "IMGPROXY_SALT": SALT, "IMGPROXY_SOURCE_URL_ENCRYPTION_KEY": ENCRYPTION_KEY,
    "IMGPROXY_PRESETS": PRESETS, "IMGPROXY_INFO_PRESETS": INFO_PRESETS, "IMGPROXY_ALLOW_SECURITY_OPTIONS": "true",
    "IMGPROXY_ALLOWED_SOURCES": "", "IMGPROXY_ALLOW_LOOPBACK_SOURCE_ADDRESSES": "true",
}
CONFIG = load_config(ENV)


def _case(kind: str, options: dict[str, Any], source: str, display: str = "plain",
          signed: bool = False, **extra: Any) -> dict[str, Any]:
    case: dict[str, Any] = {"kind": kind, "url": {"value": source, "displayAs": display}, "options": options}
    if signed:
        case.update(key=KEY, salt=SALT)
    if display == "encrypted":
        case.update(encryptKey=ENCRYPTION_KEY, encryptIV="000102030405060708090a0b0c0d0e0f")
    return {**case, **extra}


def _path(url: str) -> str:
    return url.removeprefix("http://imgproxy.test")


def _urls(cases: list[dict[str, Any]]) -> list[str]:
    results = generate(cases)
    errors = [(c["options"], r["error"]) for c, r in zip(cases, results, strict=True) if "error" in r]
    assert not errors, errors
    return [_path(r["url"]) for r in results]


@pytest.fixture(scope="module")
def plain_urls() -> dict[str, str]:
    cases = [_case("image", js, SOURCE) for _, js, _ in PROCESSING_CASES]
    cases += [_case("info", js, SOURCE) for _, js, _ in INFO_CASES]
    ids = [f"image:{name}" for name, _, _ in PROCESSING_CASES] + [f"info:{name}" for name, _, _ in INFO_CASES]
    return dict(zip(ids, _urls(cases), strict=True))


def _read_processing(path: str) -> Any:
    parsed = parse_path(path, CONFIG.url)
    return OptionsParser(CONFIG).parse(parsed.options, parsed.source.extension)


def _read_info(path: str) -> Any:
    parsed = parse_path(path.removeprefix("/info"), CONFIG.url)
    return OptionsParser(CONFIG).info.parse(parsed.options)


@pytest.mark.parametrize(("name", "docs"), [(n, d) for n, _, d in PROCESSING_CASES])
def test_processing_url_reads_as_imgproxys_docs_spelling(plain_urls: dict[str, str], name: str, docs: str) -> None:
    written = plain_urls[f"image:{name}"]
    assert written.endswith(f"/plain/{SOURCE}")
    assert _read_processing(written) == _read_processing(f"/insecure/{docs}/plain/{SOURCE}")


@pytest.mark.parametrize(("name", "docs"), [(n, d) for n, _, d in INFO_CASES])
def test_info_url_reads_as_imgproxys_docs_spelling(plain_urls: dict[str, str], name: str, docs: str) -> None:
    written = plain_urls[f"info:{name}"]
    assert written.startswith("/info/")
    assert _read_info(written) == _read_info(f"/info/insecure/{docs}/plain/{SOURCE}")


def test_every_declared_option_spelling_the_client_writes_is_covered(plain_urls: dict[str, str]) -> None:
    from imgproxy_py.options.catalog import registry
    from imgproxy_py.options.info import INFO_REGISTRY

    written = {segment.split(":")[0] for url in plain_urls.values()
               for segment in url.split("/plain/")[0].split("/")[2:]}
    unknown = {name for name in written if name not in ("info", "insecure")} - {
        n for spec in (*registry.declarations(), *INFO_REGISTRY.declarations()) for n in (spec.name, *spec.aliases)}
    assert not unknown


@pytest.fixture(scope="module")
def js_origin() -> Iterator[Origin]:
    origin = Origin()
    yield origin
    origin.close()


@pytest.fixture(scope="module")
def js_server(js_origin: Origin) -> Iterator[tuple[AppServer, str]]:
    for name in ("hopper.jpg", "hopper.png"):
        js_origin.add(f"/images/{name}", (ASSETS / "core" / name).read_bytes())
    server = AppServer(ENV)
    try:
        yield server, js_origin.url("/images/hopper.jpg")
    finally:
        server.close()


E2E_SKIP = {  # cases whose URL needs a source of another kind to mean anything
    "style": "an SVG option: a JPEG source ignores it",
}
# This server has no classification model (IMGPROXY_CLASSIFICATION_NET): classify is refused, not ignored.
E2E_STATUS = {"info:classify": 501}


@pytest.mark.parametrize("display", ["base64", "plain", "encrypted"])
def test_signed_client_urls_are_served(js_server: tuple[AppServer, str], display: str) -> None:
    server, source = js_server
    watermark = source.replace("hopper.jpg", "hopper.png")
    swap = {b64(WATERMARK_URL): b64(watermark)}

    def local(options: dict[str, Any]) -> dict[str, Any]:
        return {k: swap.get(v, v) if isinstance(v, str) else v for k, v in options.items()}

    cases = [_case("image", local(js), source, display, signed=True) for _, js, _ in PROCESSING_CASES]
    cases += [_case("info", js, source, display, signed=True) for _, js, _ in INFO_CASES]
    names = [f"image:{n}" for n, _, _ in PROCESSING_CASES] + [f"info:{n}" for n, _, _ in INFO_CASES]
    failures = []
    with httpx.Client(base_url=server.base, timeout=60) as client:
        for name, path in zip(names, _urls(cases), strict=True):
            response = client.get(path)
            if response.status_code != E2E_STATUS.get(name, 200):
                failures.append((name, path, response.status_code, response.text[:200]))
            elif name.startswith("image:") and name != "image:raw" and response.status_code == 200:
                pyvips.Image.new_from_buffer(response.content, "").avg()  # a whole, decodable image
    assert not failures


def test_client_signature_is_checked(js_server: tuple[AppServer, str]) -> None:
    server, source = js_server
    path, = _urls([_case("image", {"width": 50}, source, "base64", signed=True)])
    tampered = path.replace("/w:50/", "/w:60/")
    with httpx.Client(base_url=server.base, timeout=30) as client:
        good, bad = client.get(path), client.get(tampered)
    assert good.status_code == 200 and pyvips.Image.new_from_buffer(good.content, "").width == 50
    assert bad.status_code == 403


def test_unsigned_client_urls_are_refused_by_a_signing_server(js_server: tuple[AppServer, str]) -> None:
    server, source = js_server
    path, = _urls([_case("image", {"width": 50}, source, "base64")])
    assert path.startswith("/insecure/")
    assert httpx.get(server.base + path, timeout=30).status_code == 403


def test_client_errors_are_the_clients_not_ours() -> None:
    # The client refuses out-of-range values itself; what it writes is always a valid URL.
    result, = generate([_case("image", {"adjust": {"brightness": 300}}, SOURCE)])
    assert "error" in result
    with pytest.raises(ImgproxyError):
        _read_processing(f"/insecure/br:300/plain/{SOURCE}")
