"""The encoding options and settings through the server, read back from the bytes it sends:
JPEG frame markers and sampling factors, WebP chunks, AVIF's av1C box, resolution fields, ICC
profiles, and the colours an SVG is rendered in."""

from __future__ import annotations

import base64
import http.client
import struct
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import pyvips

from tests.servers import AppServer, Origin

HOPPER = "plain/local:///core/hopper.jpg"
SOI, SOS = 0xD8, 0xDA
SOF0, SOF2 = 0xC0, 0xC2


def fetch(client: httpx.Client, server: AppServer, options: str, source: str = HOPPER) -> bytes:
    response = client.get(f"{server.base}/unsafe/{options}/{source}")
    assert response.status_code == 200, response.text
    return response.content


def jpeg_segments(data: bytes) -> dict[int, list[bytes]]:
    """Every marker segment before the scan data, by marker."""
    assert data[:2] == b"\xff\xd8"
    segments: dict[int, list[bytes]] = {}
    i = 2
    while data[i] == 0xFF and data[i + 1] != SOS:
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        segments.setdefault(data[i + 1], []).append(data[i + 4:i + 2 + length])
        i += 2 + length
    return segments


def sampling(data: bytes) -> list[int]:
    """Each component's H<<4|V sampling factors from the frame header (SOF0 or SOF2)."""
    segments = jpeg_segments(data)
    frame = (segments.get(SOF0) or segments[SOF2])[0]
    count = frame[5]
    return [frame[6 + 3 * n + 1] for n in range(count)]


def webp_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, i = [], 12
    while i + 8 <= len(data):
        size = struct.unpack("<I", data[i + 4:i + 8])[0]
        chunks.append(data[i:i + 4])
        i += 8 + size + (size & 1)
    return chunks


def avif_chroma_subsampling(data: bytes) -> tuple[int, int]:
    """The av1C box's chroma_subsampling_x and _y: (1, 1) is 4:2:0, (0, 0) is 4:4:4."""
    at = data.index(b"av1C")
    flags = data[at + 4 + 2]
    return (flags >> 3) & 1, (flags >> 2) & 1


def png_chunk(data: bytes, name: bytes) -> bytes | None:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i = 8
    while i < len(data):
        size = struct.unpack(">I", data[i:i + 4])[0]
        if data[i + 4:i + 8] == name:
            return data[i + 8:i + 8 + size]
        i += 12 + size
    return None


def exif_resolution(data: bytes) -> tuple[float, float, int]:
    """IFD0's XResolution, YResolution and ResolutionUnit (2: inches) from a JPEG's EXIF."""
    tiff = next(p for p in jpeg_segments(data)[0xE1] if p.startswith(b"Exif\0\0"))[6:]
    endian = "<" if tiff[:2] == b"II" else ">"
    ifd = struct.unpack(endian + "I", tiff[4:8])[0]
    values: dict[int, float] = {}
    for n in range(struct.unpack(endian + "H", tiff[ifd:ifd + 2])[0]):
        tag, kind, _, value = struct.unpack(endian + "HHII", tiff[ifd + 2 + 12 * n:ifd + 14 + 12 * n])
        if kind == 5:  # RATIONAL: the value is where the fraction is
            numerator, denominator = struct.unpack(endian + "II", tiff[value:value + 8])
            values[tag] = numerator / denominator
        elif kind == 3:  # SHORT, left-aligned in the value field
            values[tag] = struct.unpack(endian + "H", tiff[ifd + 10 + 12 * n:ifd + 12 + 12 * n])[0]
    return values[0x011A], values[0x011B], int(values[0x0128])


def icc_of(data: bytes) -> bytes | None:
    img = pyvips.Image.new_from_buffer(data, "")
    return bytes(img.get("icc-profile-data")) if img.get_typeof("icc-profile-data") else None


def icc_description(profile: bytes) -> str:
    """The profile's 'desc' tag text (ICC v2 'desc' or v4 'mluc')."""
    for n in range(struct.unpack(">I", profile[128:132])[0]):
        signature, offset, size = struct.unpack(">4sII", profile[132 + 12 * n:144 + 12 * n])
        if signature == b"desc":
            tag = profile[offset:offset + size]
            if tag[:4] == b"desc":
                return tag[12:12 + struct.unpack(">I", tag[8:12])[0]].rstrip(b"\0").decode("latin-1")
            length, start = struct.unpack(">II", tag[20:28])
            return tag[start:start + length].decode("utf-16-be")
    return ""


# --- JPEG -------------------------------------------------------------------------------------

def test_progressive_jpeg_has_an_sof2_frame(server: AppServer, client: httpx.Client,
                                            start_server: Callable[..., AppServer]) -> None:
    baseline = jpeg_segments(fetch(client, server, "rs:fit:96:96/f:jpg"))
    progressive = jpeg_segments(fetch(client, server, "rs:fit:96:96/jpgo:1/f:jpg"))
    assert SOF0 in baseline and SOF2 not in baseline
    assert SOF2 in progressive and SOF0 not in progressive
    configured = start_server(IMGPROXY_JPEG_PROGRESSIVE="true")
    assert SOF2 in jpeg_segments(fetch(client, configured, "rs:fit:96:96/f:jpg"))
    # The URL's argument wins over the setting; an empty one keeps it.
    assert SOF0 in jpeg_segments(fetch(client, configured, "rs:fit:96:96/jpgo:0/f:jpg"))
    assert SOF2 in jpeg_segments(fetch(client, configured, "rs:fit:96:96/jpgo::1/f:jpg"))


def test_no_subsample_gives_full_chroma(server: AppServer, client: httpx.Client,
                                        start_server: Callable[..., AppServer]) -> None:
    assert sampling(fetch(client, server, "rs:fit:96:96/f:jpg")) == [0x22, 0x11, 0x11]  # 4:2:0
    assert sampling(fetch(client, server, "rs:fit:96:96/jpgo::1/f:jpg")) == [0x11, 0x11, 0x11]  # 4:4:4
    configured = start_server(IMGPROXY_JPEG_NO_SUBSAMPLE="true")
    assert sampling(fetch(client, configured, "rs:fit:96:96/f:jpg")) == [0x11, 0x11, 0x11]
    assert sampling(fetch(client, configured, "rs:fit:96:96/jpgo:0:0/f:jpg")) == [0x22, 0x11, 0x11]


def test_quantisation_choices_change_the_tables_or_the_scans(server: AppServer, client: httpx.Client) -> None:
    plain = fetch(client, server, "rs:fit:96:96/f:jpg")
    for options in ("jpgo:::::0:3", "jpgo:::::0:8"):
        other = fetch(client, server, f"rs:fit:96:96/{options}/f:jpg")
        assert jpeg_segments(other)[0xDB] != jpeg_segments(plain)[0xDB], options
    assert fetch(client, server, "rs:fit:96:96/jpgo:0:0:1/f:jpg") != plain  # trellis quantisation
    progressive = fetch(client, server, "rs:fit:96:96/jpgo:1/f:jpg")
    optimized = fetch(client, server, "rs:fit:96:96/jpgo:1::::1/f:jpg")
    assert optimized != progressive and SOF2 in jpeg_segments(optimized)


# --- WebP and AVIF ----------------------------------------------------------------------------

def test_lossless_webp_is_vp8l(server: AppServer, client: httpx.Client,
                               start_server: Callable[..., AppServer]) -> None:
    assert b"VP8 " in webp_chunks(fetch(client, server, "rs:fit:96:96/f:webp"))
    assert b"VP8L" in webp_chunks(fetch(client, server, "rs:fit:96:96/webpo:lossless/f:webp"))
    assert b"VP8L" in webp_chunks(fetch(client, server, "rs:fit:96:96/webpo:near_lossless/f:webp"))
    configured = start_server(IMGPROXY_WEBP_COMPRESSION="lossless")
    assert b"VP8L" in webp_chunks(fetch(client, configured, "rs:fit:96:96/f:webp"))
    assert b"VP8 " in webp_chunks(fetch(client, configured, "rs:fit:96:96/webpo:lossy/f:webp"))


def test_webp_preset_and_smart_subsample_change_the_bytes(server: AppServer, client: httpx.Client) -> None:
    results = {options: fetch(client, server, f"rs:fit:96:96/{options}/f:webp")
               for options in ("webpo:", "webpo:::drawing", "webpo:::text", "webpo::1")}
    assert len(set(results.values())) == 4
    assert all(b"VP8 " in webp_chunks(data) for data in results.values())


def test_avif_subsample_changes_chroma(server: AppServer, client: httpx.Client,
                                       start_server: Callable[..., AppServer]) -> None:
    # The default is auto: subsampled below quality 90 (AVIF's default quality is 63).
    assert avif_chroma_subsampling(fetch(client, server, "rs:fit:48:48/f:avif")) == (1, 1)
    assert avif_chroma_subsampling(fetch(client, server, "rs:fit:48:48/q:95/f:avif")) == (0, 0)
    assert avif_chroma_subsampling(fetch(client, server, "rs:fit:48:48/avifo:off/f:avif")) == (0, 0)
    assert avif_chroma_subsampling(fetch(client, server, "rs:fit:48:48/q:95/avifo:on/f:avif")) == (1, 1)
    configured = start_server(IMGPROXY_AVIF_SUBSAMPLE="off")
    assert avif_chroma_subsampling(fetch(client, configured, "rs:fit:48:48/f:avif")) == (0, 0)


# --- resolution -------------------------------------------------------------------------------

def test_dpi_is_written_in_the_results_metadata(server: AppServer, client: httpx.Client,
                                                start_server: Callable[..., AppServer]) -> None:
    assert exif_resolution(fetch(client, server, "rs:fit:96:96/dpi:300/f:jpg")) == (300.0, 300.0, 2)
    phys = png_chunk(fetch(client, server, "rs:fit:96:96/dpi:300/f:png"), b"pHYs")
    assert phys is not None and struct.unpack(">IIB", phys) == (11811, 11811, 1)  # per metre
    # Stripped metadata resets the resolution to IMGPROXY_STRIP_METADATA_DPI (72); dpi wins over it.
    assert exif_resolution(fetch(client, server, "rs:fit:96:96/f:jpg")) == (72.0, 72.0, 2)
    configured = start_server(IMGPROXY_STRIP_METADATA_DPI="96")
    assert exif_resolution(fetch(client, configured, "rs:fit:96:96/f:jpg")) == (96.0, 96.0, 2)
    assert exif_resolution(fetch(client, configured, "rs:fit:96:96/dpi:150/sm:0/f:jpg")) == (150.0, 150.0, 2)


# --- colour profiles --------------------------------------------------------------------------

def test_srgb_profile_is_embedded(server: AppServer, client: httpx.Client) -> None:
    assert icc_of(fetch(client, server, "rs:fit:96:96/f:png")) is None  # stripped by default
    for options in ("cp:srgb/f:png", "icc:srgb/f:jpg", "color_profile:srgb/f:webp"):
        profile = icc_of(fetch(client, server, f"rs:fit:96:96/{options}"))
        assert profile is not None and profile[16:20] == b"RGB ", options
        assert "sRGB" in icc_description(profile), options


def test_cmyk_profile_converts_a_jpeg(server: AppServer, client: httpx.Client) -> None:
    data = fetch(client, server, "rs:fit:64:64/cp:cmyk/f:jpg")
    profile = icc_of(data)
    assert profile is not None and profile[16:20] == b"CMYK"
    assert len(sampling(data)) == 4  # four components in the frame
    # PNG has no CMYK, GIF no profile: the option is ignored there, as imgproxy documents.
    assert icc_of(fetch(client, server, "rs:fit:64:64/cp:cmyk/f:png")) is None
    assert fetch(client, server, "rs:fit:64:64/cp:srgb/f:gif")[:3] == b"GIF"


def test_profiles_from_the_profiles_dir(client: httpx.Client, start_server: Callable[..., AppServer],
                                        tmp_path: Path) -> None:
    # A real camera profile: the one embedded in the TIFF test image.
    source = pyvips.Image.new_from_file(str(Path(__file__).parent / "assets/core/hopper.iccprofile.tif"))
    custom = bytes(source.get("icc-profile-data"))
    (tmp_path / "my camera.icc").write_bytes(custom)
    server = start_server(IMGPROXY_COLOR_PROFILES_DIR=str(tmp_path))
    for name in ("my%20camera", "my%20camera.icc"):
        assert icc_of(fetch(client, server, f"rs:fit:64:64/cp:{name}/f:png")) == custom, name
    missing = client.get(f"{server.base}/unsafe/cp:nothing/{HOPPER}")
    assert missing.status_code == 404 and "nothing" in missing.text and "color_profile" in missing.text
    escape = client.get(f"{server.base}/unsafe/cp:..%2F..%2Fetc%2Fpasswd/{HOPPER}")
    assert escape.status_code == 404 and "color_profile" in escape.text


# --- SVG style ----------------------------------------------------------------------------------

SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
       b'<rect width="40" height="20" fill="#ff0000"/></svg>')


def style_arg(css: str) -> str:
    return base64.urlsafe_b64encode(css.encode()).rstrip(b"=").decode()


def test_style_changes_the_rendered_colour(server: AppServer, client: httpx.Client, origin: Origin) -> None:
    source = "plain/" + origin.add("/encoding/red.svg", SVG)
    plain = pyvips.Image.new_from_buffer(fetch(client, server, "f:png", source), "")
    styled = pyvips.Image.new_from_buffer(
        fetch(client, server, f"st:{style_arg('rect { fill: #0000ff }')}/f:png", source), "")
    assert plain.getpoint(20, 10)[:3] == [255, 0, 0]
    assert styled.getpoint(20, 10)[:3] == [0, 0, 255]
    # An SVG result (passed through) carries the style too, escaped as text.
    passed = fetch(client, server, f"st:{style_arg('a>b{}')}", source)
    assert b"<style>a&gt;b{}</style>" in passed


def test_style_loads_nothing_from_outside(server: AppServer, client: httpx.Client, origin: Origin) -> None:
    source = "plain/" + origin.add("/encoding/red2.svg", SVG)
    css_url = origin.add("/encoding/evil.css", b"rect { fill: #00ff00 }")
    pattern = origin.add("/encoding/pattern.svg", SVG)
    css = f"@import url({css_url}); rect {{ fill: url({pattern}#p) }}"
    result = pyvips.Image.new_from_buffer(fetch(client, server, f"st:{style_arg(css)}/f:png", source), "")
    assert origin.count("/encoding/evil.css") == 0 and origin.count("/encoding/pattern.svg") == 0
    assert result.getpoint(20, 10)[:3] != [0, 255, 0]


@pytest.mark.parametrize(("svg", "css", "status"), [
    # With IMGPROXY_SANITIZE_SVG=false the style meets the source as it came: "<svg " in a comment
    # (valid XML) or no start tag that ends, each "<svg " was scanned to the end.
    (b"<!-- " + b"<svg " * 200_000 + b"-->" + SVG, "rect { fill: #0000ff }", 200),
    (b"<svg " * 200_000, "a{}", 422),
    (SVG, "rect { fill: #0000ff } " + "url(" * 40_000, 200),
    (SVG, "rect { fill: #0000ff } " + "/* " * 50_000, 200),
    (SVG, "rect { fill: #0000ff } " + 'image-set("' * 40_000, 200),
])
def test_style_on_hostile_input_answers_at_once(start_server: Callable[..., AppServer], origin: Origin, svg: bytes,
                                                css: str, status: int) -> None:
    """The last three took a worker's CPU for a minute to an hour in the style's patterns, which
    backtracked over the rest of the input from every start (the timeout allows a slow, busy
    machine); the first is a comment's "<svg" passed over.  The URLs are longer than httpx
    sends: http.client sends them."""
    server = start_server(IMGPROXY_SANITIZE_SVG="false")
    source = origin.add(f"/encoding/hostile-{len(svg)}-{len(css)}.svg", svg)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", f"/unsafe/st:{style_arg(css)}/f:png/plain/{source}")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == status
    if status == 200:
        assert pyvips.Image.new_from_buffer(body, "").getpoint(20, 10)[:3] == [0, 0, 255]


@pytest.mark.parametrize("options", ["jpgo:sometimes", "webpo:lossy:1:portrait", "avifo:420", "dpi:-3",
                                     "cp:..", "st:!!!"])
def test_bad_forms_are_404_naming_the_option(server: AppServer, client: httpx.Client, options: str) -> None:
    response = client.get(f"{server.base}/unsafe/{options}/{HOPPER}")
    assert response.status_code == 404
    name = {"jpgo": "jpeg_options", "webpo": "webp_options", "avifo": "avif_options", "dpi": "dpi",
            "cp": "color_profile", "st": "style"}[options.partition(":")[0]]
    assert name in response.text and options.partition(":")[2].split(":")[-1] in response.text
