"""Image formats: one record per format, read by loading, saving, format negotiation and the
shrink-on-load checks; plus names as imgproxy spells them, and sniffing.

A new format lands here first: its record says what libvips (or our own codec) loads and saves
it with, and what it can hold; ``imaging.codecs`` and the pipeline take it from there.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from enum import Enum, StrEnum


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    AVIF = "avif"
    GIF = "gif"
    ICO = "ico"
    SVG = "svg"
    HEIC = "heic"
    BMP = "bmp"
    TIFF = "tiff"
    JXL = "jxl"
    PDF = "pdf"

    @property
    def spec(self) -> FormatSpec:
        return FORMATS[self]

    @property
    def mime(self) -> str:
        return FORMATS[self].mime

    @property
    def extension(self) -> str:
        return FORMATS[self].extensions[0]

    @property
    def supports_alpha(self) -> bool:
        return FORMATS[self].alpha

    @property
    def supports_animation(self) -> bool:
        return FORMATS[self].animation

    @property
    def supports_quality(self) -> bool:
        return FORMATS[self].quality

    @property
    def is_vector(self) -> bool:
        return FORMATS[self].vector


class Codec(Enum):
    """Who decodes and encodes a format."""

    LIBVIPS = "libvips"
    # Our own numpy codecs (imaging.codecs.bmp, .ico): the libvips build has no BMP or ICO
    # loader (those come from ImageMagick, which is off for untrusted input).
    BUILTIN = "builtin"
    # An optional wheel (``imaging.codecs.wheels``): pillow-heif, imagecodecs, pypdfium2.  Its
    # absence is a 501 naming the extra, not an unknown format.
    WHEEL = "wheel"


class ShrinkOnLoad(Enum):
    """What the decoder can skip when a smaller image is enough (``scale_on_load``)."""

    NONE = "none"
    # JPEG: DCT scaling by 2, 4 or 8 only.
    FACTOR = "factor"
    # WebP: any scale below 1.
    SCALE = "scale"
    # SVG: rendered at any scale, up as well as down, and even with shrink-on-load disabled.
    VECTOR = "vector"


@dataclass(frozen=True)
class FormatSpec:
    format: ImageFormat
    mime: str
    # The spellings accepted in URLs and settings; the first is the file extension of results.
    extensions: tuple[str, ...]
    codec: Codec
    # The load and save operation: a libvips nickname (``jpegload``; its ``_source`` and
    # ``_buffer`` variants are used) or our codec's name for it.  "" when there is none.
    loader: str
    saver: str
    _: KW_ONLY
    shrink_on_load: ShrinkOnLoad = ShrinkOnLoad.NONE
    alpha: bool = True
    animation: bool = False
    # Whether a quality setting changes the result; autoquality can search for one.
    quality: bool = False
    autoquality: bool = False
    # Whether a source holds several pages or frames that libvips loads by number.
    multi_page: bool = False
    # The saver's size limits: larger results are scaled down to fit (``fix_size``); a smaller
    # one can't be saved at all, so another format is written.
    max_dimension: int = 0
    max_resolution: int = 0
    min_dimension: int = 0

    @property
    def vector(self) -> bool:
        return self.shrink_on_load is ShrinkOnLoad.VECTOR


FORMATS: dict[ImageFormat, FormatSpec] = {spec.format: spec for spec in (
    FormatSpec(ImageFormat.JPEG, "image/jpeg", ("jpg", "jpeg"), Codec.LIBVIPS, "jpegload", "jpegsave",
               shrink_on_load=ShrinkOnLoad.FACTOR, alpha=False, quality=True, autoquality=True),
    FormatSpec(ImageFormat.PNG, "image/png", ("png",), Codec.LIBVIPS, "pngload", "pngsave"),
    FormatSpec(ImageFormat.WEBP, "image/webp", ("webp",), Codec.LIBVIPS, "webpload", "webpsave",
               shrink_on_load=ShrinkOnLoad.SCALE, animation=True, quality=True, autoquality=True,
               multi_page=True, max_dimension=16383),
    # libheif can't encode an AV1 image under 16 pixels a side.
    FormatSpec(ImageFormat.AVIF, "image/avif", ("avif",), Codec.LIBVIPS, "heifload", "heifsave",
               quality=True, autoquality=True, multi_page=True, max_dimension=16384, min_dimension=16),
    # The pixels of a GIF result, all frames together: 4 * 1024 * 1024 * 64.
    FormatSpec(ImageFormat.GIF, "image/gif", ("gif",), Codec.LIBVIPS, "gifload", "gifsave",
               animation=True, multi_page=True, max_dimension=65535, max_resolution=4 * 1024 * 1024 * 64),
    FormatSpec(ImageFormat.ICO, "image/x-icon", ("ico",), Codec.BUILTIN, "icoload", "icosave",
               max_dimension=256),
    # SVG sources are passed through or rendered; never written from pixels.
    FormatSpec(ImageFormat.SVG, "image/svg+xml", ("svg",), Codec.LIBVIPS, "svgload", "",
               shrink_on_load=ShrinkOnLoad.VECTOR),
    # HEVC: the libvips wheel's libheif has only the AV1 codec, so pillow-heif's libheif does it.
    FormatSpec(ImageFormat.HEIC, "image/heif", ("heic", "heif"), Codec.WHEEL, "heicload", "heicsave",
               quality=True, multi_page=True, max_dimension=16384),
    # Written with alpha (32-bit) when the image has it, as imgproxy 4 writes it (3 flattened it).
    FormatSpec(ImageFormat.BMP, "image/bmp", ("bmp",), Codec.BUILTIN, "bmpload", "bmpsave"),
    FormatSpec(ImageFormat.TIFF, "image/tiff", ("tiff", "tif"), Codec.LIBVIPS, "tiffload", "tiffsave",
               quality=True, multi_page=True),
    # The libvips wheel has no libjxl: imagecodecs' libjxl reads and writes it.
    FormatSpec(ImageFormat.JXL, "image/jxl", ("jxl",), Codec.WHEEL, "jxlload", "jxlsave",
               quality=True, autoquality=True),
    # Pages rendered by pypdfium2 (PDFium, without forms or scripts); not written.
    FormatSpec(ImageFormat.PDF, "application/pdf", ("pdf",), Codec.WHEEL, "pdfload", "",
               shrink_on_load=ShrinkOnLoad.SCALE, alpha=False, multi_page=True),
)}

_BY_NAME = {name: spec.format for spec in FORMATS.values() for name in (spec.format.value, *spec.extensions)}


def format_by_name(name: str) -> ImageFormat | None:
    """The format for an option value or URL extension (``jpg``, ``webp``, ...)."""
    return _BY_NAME.get(name.lower())


# How far into a file an SVG's <svg> tag is looked for (imgproxy's IMGPROXY_MAX_SVG_CHECK_BYTES):
# editors put long comments, DOCTYPEs and entity declarations before it.
SVG_CHECK_BYTES = 32 * 1024


def sniff_format(data: bytes, svg_check_bytes: int = SVG_CHECK_BYTES) -> ImageFormat | None:
    """Detect the format from magic bytes; never trusts the origin's Content-Type."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageFormat.PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return ImageFormat.GIF
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return ImageFormat.AVIF
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"):
            # mif1 is the generic HEIF brand; AVIF files list avif among compatible brands.
            box_size = int.from_bytes(head[:4], "big")
            compatible = data[16:max(16, min(box_size, 256))]
            return ImageFormat.AVIF if b"avif" in compatible else ImageFormat.HEIC
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return ImageFormat.TIFF
    if head[:2] == b"BM" and len(head) >= 26:
        return ImageFormat.BMP
    if head[:4] == b"\x00\x00\x01\x00" and len(head) >= 6 and head[4:6] != b"\x00\x00":
        return ImageFormat.ICO
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return ImageFormat.JXL
    if head.startswith(b"%PDF-"):
        return ImageFormat.PDF
    if _looks_like_svg(data, svg_check_bytes):
        return ImageFormat.SVG
    return None


def _looks_like_svg(data: bytes, check_bytes: int) -> bool:
    text = data[:check_bytes].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not text.startswith(b"<"):
        return False
    return b"<svg" in text
