"""Still, lossy WebP through Pillow (``imaging.codecs.webp``): the same picture and profile as
libvips' ``webpsave`` writes, the resolution kept in EXIF; everything else left to libvips."""

from __future__ import annotations

import io

import pytest
import pyvips
from PIL import Image

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs import webp
from imgproxy_py.imaging.codecs.save import EncoderSettings, encode
from tests.sharpness_support import photo

LOSSY = {"Q": 79, "effort": 4, "preset": "default", "smart_subsample": False, "lossless": False,
         "near_lossless": False}


def chunks(data: bytes) -> dict[bytes, bytes]:
    """The RIFF chunks of a WebP file by FourCC."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    found, at = {}, 12
    while at < len(data):
        size = int.from_bytes(data[at + 4:at + 8], "little")
        found[data[at:at + 4]] = data[at + 8:at + 8 + size]
        at += 8 + size + (size & 1)
    return found


def still(bands: int = 3, *, profile: bool = False, dpi: float = 72.0) -> pyvips.Image:
    img = photo().copy_memory()
    if bands == 4:
        img = img.bandjoin((img.extract_band(1) / 2 + 64).cast("uchar"))
    img = img.copy(xres=dpi / 25.4, yres=dpi / 25.4)
    if profile:
        srgb = pyvips.Image.black(8, 8, bands=3).cast("uchar").copy(interpretation="srgb")
        icc = srgb.icc_transform("srgb", input_profile="srgb").get("icc-profile-data")
        img.set_type(pyvips.GValue.blob_type, "icc-profile-data", icc)
    return img


@pytest.mark.parametrize(("bands", "profile", "dpi"), [(3, False, 72.0), (4, False, 72.0), (3, True, 300.0)])
def test_same_picture_and_profile_as_libvips(bands: int, profile: bool, dpi: float) -> None:
    img = still(bands, profile=profile, dpi=dpi)
    assert webp.can_save(img, LOSSY)
    ours = webp.save(img, LOSSY)
    theirs = bytes(img.webpsave_buffer(**LOSSY))
    ours_chunks, their_chunks = chunks(ours), chunks(theirs)
    for fourcc in (b"VP8 ", b"ALPH", b"ICCP"):  # the picture, its alpha plane, the profile
        assert ours_chunks.get(fourcc) == their_chunks.get(fourcc)
    assert (b"ALPH" in ours_chunks) == (bands == 4) and (b"ICCP" in ours_chunks) == profile
    exif = Image.open(io.BytesIO(ours)).getexif()
    assert float(exif[0x011A]) == pytest.approx(dpi) and exif[0x0128] == 2 and exif[0x0112] == 1


def test_the_encoder_takes_this_path_for_plain_webp() -> None:
    img = still()
    data = encode(img, ImageFormat.WEBP, 79, EncoderSettings())
    assert chunks(data)[b"VP8 "] == chunks(bytes(img.webpsave_buffer(**LOSSY)))[b"VP8 "]
    assert len(chunks(data)[b"EXIF"]) < len(chunks(bytes(img.webpsave_buffer(**LOSSY)))[b"EXIF"])


@pytest.mark.parametrize("change", [
    {"lossless": True}, {"near_lossless": True}, {"smart_subsample": True}, {"preset": "photo"}, {"alpha_q": 50},
])
def test_other_encoder_settings_go_to_libvips(change: dict[str, object]) -> None:
    assert not webp.can_save(still(), {**LOSSY, **change})


def test_images_it_would_write_differently_go_to_libvips() -> None:
    with_exif = still().copy()
    with_exif.set_type(pyvips.GValue.blob_type, "exif-data", b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00")
    frames = pyvips.Image.arrayjoin([still(), still()], across=1).copy()
    frames.set_type(pyvips.GValue.gint_type, "page-height", still().height)
    grey = still().extract_band(0)
    deep = still().cast("ushort")
    for img in (with_exif, frames, grey, deep):
        assert not webp.can_save(img, LOSSY)
    # Past MAX_PIXELS libvips' saver holds half the memory, for no more CPU.
    assert webp.can_save(still().resize(4000 / still().width), LOSSY)
    assert not webp.can_save(still().resize(5000 / still().width), LOSSY)


def test_an_encoder_failure_is_unprocessable(monkeypatch: pytest.MonkeyPatch) -> None:
    """What Pillow raises when libwebp refuses a picture is imgproxy's 422, not a server error."""
    from imgproxy_py.errors import UnprocessableImageError

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("encoding error 5")

    monkeypatch.setattr(Image.Image, "save", refuse)
    with pytest.raises(UnprocessableImageError):
        encode(still(), ImageFormat.WEBP, 79, EncoderSettings())
