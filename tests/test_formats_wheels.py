"""HEIC, JPEG XL and PDF through their wheels (pillow-heif, imagecodecs, pypdfium2): real files
in and out over HTTP, round trips judged by SSIM, hostile files refused quickly."""

from __future__ import annotations

import io
import time

import httpx
import numpy as np
import pillow_heif
import pypdfium2
import pytest
import pyvips
from PIL import Image
from skimage import data as skdata
from skimage.metrics import structural_similarity

from tests.conftest import ASSETS, decode
from tests.servers import AppServer, Origin


def pixels(img: pyvips.Image, bands: int = 3) -> np.ndarray:
    img = img.colourspace("srgb") if img.interpretation != "srgb" else img
    img = img.extract_band(0, n=bands) if img.bands > bands else img
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=[img.height, img.width, img.bands])


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def heic_of(array: np.ndarray, *, orientation: int = 0, quality: int = 90, thumbnail: int = 0) -> bytes:
    mode = "RGBA" if array.shape[2] == 4 else "RGB"
    heif = pillow_heif.from_bytes(mode, (array.shape[1], array.shape[0]), np.ascontiguousarray(array).tobytes())
    exif = None
    if orientation:
        tags = Image.Exif()
        tags[0x0112] = orientation
        exif = tags.tobytes()
    out = io.BytesIO()
    heif.save(out, quality=quality, exif=exif, thumbnails=[thumbnail] if thumbnail else [],
              enc_params={"preset": "ultrafast"})
    return out.getvalue()


def pdf_of(pages: list[tuple[float, float]]) -> bytes:
    doc = pypdfium2.PdfDocument.new()
    for width, height in pages:
        doc.new_page(width, height)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


ASTRONAUT = skdata.astronaut()  # 512x512, a real photo


@pytest.fixture(scope="module")
def files(origin: Origin) -> Origin:
    import imagecodecs

    astronaut = heic_of(ASTRONAUT)
    origin.add("/w/astronaut.heic", astronaut)
    origin.add("/w/rotated.heic", heic_of(ASTRONAUT[:, :256], orientation=6))
    alpha = np.dstack([ASTRONAUT[:200, :300], np.tile(np.linspace(0, 255, 300).astype(np.uint8), (200, 1))])
    origin.add("/w/alpha.heic", heic_of(alpha))
    origin.add("/w/thumb.heic", heic_of(ASTRONAUT[::2, ::2], thumbnail=64))
    origin.add("/w/truncated.heic", astronaut[:3000])
    origin.add("/w/astronaut.jxl", bytes(imagecodecs.jpegxl_encode(ASTRONAUT, level=90)))
    origin.add("/w/truncated.jxl", bytes(imagecodecs.jpegxl_encode(ASTRONAUT, level=90))[:500])
    origin.add("/w/three.pdf", pdf_of([(200, 100), (300, 150), (100, 400)]))
    origin.add("/w/bomb.pdf", pdf_of([(100000, 100000)]))
    return origin


def get(client: httpx.Client, server: AppServer, files: Origin, options: str, path: str) -> httpx.Response:
    return client.get(f"{server.base}/unsafe/{options}/plain/{files.url(path)}")


def test_hevc_heif_from_pillow_is_decoded(client: httpx.Client, server: AppServer) -> None:
    response = client.get(f"{server.base}/unsafe/rs:fit:64:64/plain/local:///core/hopper.heif@png")
    assert response.status_code == 200, response.text
    result = decode(response.content)
    reference = pyvips.Image.new_from_file(str(ASSETS / "core" / "hopper.png")).resize(0.5)
    assert (result.width, result.height) == (64, 64)
    assert ssim(pixels(result), pixels(reference)) > 0.8


def test_heic_in_keeps_heic_out(client: httpx.Client, server: AppServer, files: Origin) -> None:
    response = get(client, server, files, "rs:fit:256:256", "/w/astronaut.heic")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/heif"
    back = pillow_heif.open_heif(response.content)
    assert back.size == (256, 256)
    source = pyvips.Image.new_from_array(ASTRONAUT).copy(interpretation="srgb").resize(0.5)
    assert ssim(np.asarray(back[0]), pixels(source)) > 0.85


def test_png_to_heic_round_trip_follows_quality(client: httpx.Client, server: AppServer, files: Origin,
                                                 origin: Origin) -> None:
    origin.add("/w/astronaut.png", pyvips.Image.new_from_array(ASTRONAUT).copy(interpretation="srgb").pngsave_buffer())
    high = get(client, server, files, "q:90", "/w/astronaut.png@heic")
    low = get(client, server, files, "q:20", "/w/astronaut.png@heic")
    assert high.status_code == low.status_code == 200
    assert len(low.content) < len(high.content)
    assert ssim(np.asarray(pillow_heif.open_heif(high.content)[0]), ASTRONAUT) > 0.9


def test_heic_orientation_is_applied_once(client: httpx.Client, server: AppServer, files: Origin) -> None:
    # Stored 256 wide, 512 high, with orientation 6: upright it is 512 wide, 256 high.
    response = get(client, server, files, "rs:fit:128:128", "/w/rotated.heic@png")
    assert response.status_code == 200, response.text
    result = decode(response.content)
    assert (result.width, result.height) == (128, 64)
    upright = np.rot90(ASTRONAUT[:, :256], k=-1)
    expected = pyvips.Image.new_from_array(np.ascontiguousarray(upright)).copy(interpretation="srgb").resize(0.25)
    assert ssim(pixels(result), pixels(expected)) > 0.8


def test_heic_alpha_survives(client: httpx.Client, server: AppServer, files: Origin) -> None:
    response = get(client, server, files, "", "/w/alpha.heic@png")
    result = decode(response.content)
    assert result.bands == 4
    alpha = np.ndarray(buffer=result[3].write_to_memory(), dtype=np.uint8, shape=[result.height, result.width])
    assert alpha[:, :10].mean() < 20 and alpha[:, -10:].mean() > 235


def test_enforce_thumbnail_takes_the_embedded_one(client: httpx.Client, server: AppServer, files: Origin) -> None:
    full = decode(get(client, server, files, "", "/w/thumb.heic@png").content)
    thumb = decode(get(client, server, files, "eth:1", "/w/thumb.heic@png").content)
    assert (full.width, thumb.width) == (256, 64)


@pytest.mark.parametrize("path", ["/w/truncated.heic", "/w/truncated.jxl"])
def test_truncated_files_are_422(client: httpx.Client, server: AppServer, files: Origin, path: str) -> None:
    started = time.monotonic()
    assert get(client, server, files, "rs:fit:64:64", path).status_code == 422
    assert time.monotonic() - started < 5


def test_heic_resolution_limit_is_read_from_the_header(start_server, client: httpx.Client,  # type: ignore[no-untyped-def]
                                                        files: Origin) -> None:
    small = start_server(IMGPROXY_MAX_SRC_RESOLUTION="0.1")  # 100,000 pixels; the photo has 262,144
    response = get(client, small, files, "", "/w/astronaut.heic@png")
    assert response.status_code == 422 and "resolution" in response.text.lower()
    response = get(client, small, files, "", "/w/astronaut.jxl@png")
    assert response.status_code == 422 and "resolution" in response.text.lower()


def test_jxl_in_and_out(client: httpx.Client, server: AppServer, files: Origin) -> None:
    import imagecodecs

    response = get(client, server, files, "rs:fit:256:256", "/w/astronaut.jxl")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jxl"
    back = imagecodecs.jpegxl_decode(response.content)
    assert back.shape == (256, 256, 3)
    source = pyvips.Image.new_from_array(ASTRONAUT).copy(interpretation="srgb").resize(0.5)
    assert ssim(back, pixels(source)) > 0.85
    low = get(client, server, files, "rs:fit:256:256/q:30", "/w/astronaut.jxl")
    assert len(low.content) < len(response.content)


def test_pdf_pages_render(client: httpx.Client, server: AppServer, files: Origin) -> None:
    first = decode(get(client, server, files, "", "/w/three.pdf@png").content)
    assert (first.width, first.height) == (200, 100)
    second = decode(get(client, server, files, "pg:1", "/w/three.pdf@png").content)
    assert (second.width, second.height) == (300, 150)
    assert pixels(second).min() == 255  # blank page on white
    assert get(client, server, files, "pg:3", "/w/three.pdf@png").status_code == 422
    # No PDF writer: the result format falls back to the preferred ones.
    assert get(client, server, files, "", "/w/three.pdf").headers["content-type"] == "image/jpeg"


def test_pdf_bomb_page_is_refused_before_rendering(client: httpx.Client, server: AppServer, files: Origin) -> None:
    started = time.monotonic()
    response = get(client, server, files, "rs:fit:64:64", "/w/bomb.pdf@png")
    assert response.status_code == 422 and "resolution" in response.text.lower()
    assert time.monotonic() - started < 5


def test_autoquality_reads_wheel_results_back(client: httpx.Client, server: AppServer, files: Origin) -> None:
    for ext in ("jxl", "heic"):
        # A loose DSSIM target settles below the top quality: each candidate was decoded and measured.
        response = get(client, server, files, "rs:fit:256:256/aq:dssim:0.02:30:98", f"/w/astronaut.heic@{ext}")
        assert response.status_code == 200, response.text
        top = get(client, server, files, "rs:fit:256:256/q:98", f"/w/astronaut.heic@{ext}")
        assert len(response.content) < len(top.content)


def test_missing_wheel_is_a_501_naming_the_extra(client: httpx.Client, server: AppServer, files: Origin,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from imgproxy_py.imaging.codecs import wheels

    monkeypatch.setitem(wheels._MODULES, "heic", "imgproxy_py_no_such_module")
    decode_it = get(client, server, files, "", "/w/astronaut.heic@png")
    encode_it = client.get(f"{server.base}/unsafe/plain/local:///core/hopper.jpg@heic")
    for response in (decode_it, encode_it):
        assert response.status_code == 501
        assert "imgproxy-py[formats]" in response.text


def test_heic_sequence_first_image_unless_page(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    first = pillow_heif.from_bytes("RGB", (64, 48), np.full((48, 64, 3), 200, np.uint8).tobytes())
    first.add_frombytes("RGB", (32, 40), np.full((40, 32, 3), 30, np.uint8).tobytes())
    out = io.BytesIO()
    first.save(out, quality=90)
    origin.add("/w/two.heic", out.getvalue())
    url = f"{server.base}/unsafe/%s/plain/{origin.url('/w/two.heic')}@png"
    one = decode(client.get(url % "q:90").content)
    two = decode(client.get(url % "pg:1").content)
    assert (one.width, one.height, round(one.avg())) == (64, 48, 200)
    assert (two.width, two.height, round(two.avg())) == (32, 40, 30)
    assert client.get(url % "pg:2").status_code == 422


def test_heic_icc_profile_is_applied(client: httpx.Client, server: AppServer) -> None:
    from imgproxy_py.imaging.codecs.heic import load_heic

    tif = pyvips.Image.new_from_file(str(ASSETS / "core" / "hopper.iccprofile.tif"))
    icc = bytes(tif.get("icc-profile-data"))
    heif = pillow_heif.from_bytes("RGB", (tif.width, tif.height), tif.extract_band(0, n=3).write_to_memory())
    out = io.BytesIO()
    heif.save(out, quality=95, icc_profile=icc)
    img = load_heic(out.getvalue(), max_pixels=1 << 20)
    assert bytes(img.get("icc-profile-data")) == icc


@pytest.mark.parametrize("ext", ["avif", "jxl", "heic", "png", "tiff"])
def test_preserve_hdr_writes_high_bit_results(client: httpx.Client, server: AppServer, ext: str) -> None:
    import imagecodecs

    response = client.get(f"{server.base}/unsafe/ph:1/plain/local:///core/16bit.deflate.tif@{ext}")
    assert response.status_code == 200, response.text
    if ext == "jxl":
        assert imagecodecs.jpegxl_decode(response.content).dtype == np.uint16
    elif ext == "heic":
        assert pillow_heif.open_heif(response.content).info["bit_depth"] > 8
    else:
        assert decode(response.content).format == "ushort"


def test_info_reads_pdf_pages(client: httpx.Client, server: AppServer, files: Origin) -> None:
    info = client.get(f"{server.base}/info/unsafe/plain/{files.url('/w/three.pdf')}").json()
    assert (info["format"], info["width"], info["height"]) == ("pdf", 200, 100)


def raw_pdf(objects: list[str]) -> bytes:
    """A PDF file of these objects (numbered from 1, the first the catalog), with its xref table."""
    body = b"%PDF-1.7\n"
    offsets = []
    for number, text in enumerate(objects, 1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n{text}\nendobj\n".encode()
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return body


def hostile_pdf(callback: str) -> bytes:
    """A one-page PDF that runs JavaScript on open, submits a form and links out, all to ``callback``."""
    return raw_pdf([
        "<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R /AcroForm << /Fields [] >> >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 120 80] /Annots [5 0 R] /AA << /O 6 0 R >> >>",
        f"<< /S /JavaScript /JS (app.launchURL\\('{callback}'\\); this.submitForm\\('{callback}'\\);) >>",
        f"<< /Type /Annot /Subtype /Link /Rect [0 0 120 80] /A << /S /URI /URI ({callback}) >> >>",
        f"<< /S /SubmitForm /F << /FS /URL /F ({callback}) >> >>",
    ])


def test_a_pdf_with_scripts_only_renders(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    origin.add("/w/hostile.pdf", hostile_pdf(origin.url("/w/called-back")))
    response = client.get(f"{server.base}/unsafe/plain/{origin.url('/w/hostile.pdf')}@png")
    assert response.status_code == 200, response.text
    result = decode(response.content)
    assert (result.width, result.height) == (120, 80)
    assert origin.count("/w/called-back") == 0


@pytest.mark.parametrize("path", ["/w/astronaut.heic", "/w/astronaut.jxl", "/w/three.pdf"])
def test_corrupted_files_are_never_a_500(client: httpx.Client, server: AppServer, files: Origin, path: str) -> None:
    good = client.get(files.url(path)).content
    rng = np.random.default_rng(16)
    for index in range(8):
        bad = bytearray(good)
        if index % 2:
            bad = bad[: int(rng.integers(8, len(bad)))]  # truncated
        else:
            for at in rng.integers(16, len(bad), size=12):  # bytes flipped past the signature
                bad[at] ^= 0xFF
        name = f"{path}.bad{index}"
        files.add(name, bytes(bad))
        started = time.monotonic()
        response = get(client, server, files, "rs:fit:64:64", name + "@png")
        assert response.status_code in (200, 422), (index, response.status_code, response.text)
        assert time.monotonic() - started < 10


def test_info_reads_heic_and_pdf_sizes_without_decoding(client: httpx.Client, server: AppServer,
                                                        files: Origin) -> None:
    from imgproxy_py.imaging.codecs.heic import load_heic

    info = client.get(f"{server.base}/info/unsafe/plain/{files.url('/w/rotated.heic')}").json()
    assert (info["format"], info["width"], info["height"]) == ("heic", 512, 256)  # upright
    header = load_heic(client.get(files.url("/w/astronaut.heic")).content, max_pixels=1 << 20, header_only=True)
    assert (header.width, header.height, header.max()) == (512, 512, 0)  # its size; no pixel decoded
    bomb = client.get(f"{server.base}/info/unsafe/plain/{files.url('/w/bomb.pdf')}")
    assert bomb.status_code == 422


def blue_square_pdf() -> bytes:
    """One 100x100 page with a blue 40x40 square at its top left corner, nothing else."""
    content = "0 0 1 rg 0 60 40 40 re f"
    return raw_pdf([
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Contents 4 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
    ])


def test_pdf_no_background(start_server, client: httpx.Client, server: AppServer,  # type: ignore[no-untyped-def]
                           origin: Origin) -> None:
    origin.add("/w/square.pdf", blue_square_pdf())
    url = f"/unsafe/plain/{origin.url('/w/square.pdf')}@png"
    white = decode(client.get(server.base + url).content)
    assert white.bands == 3 and white(80, 80) == [255, 255, 255] and white(20, 20) == [0, 0, 255]
    clear = decode(client.get(start_server(IMGPROXY_PDF_NO_BACKGROUND="true").base + url).content)
    assert clear.bands == 4 and clear(80, 80)[3] == 0 and clear(20, 20) == [0, 0, 255, 255]
