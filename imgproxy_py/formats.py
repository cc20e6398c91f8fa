"""Image formats: names as imgproxy spells them, MIME types, sniffing and capabilities."""

from __future__ import annotations

from enum import StrEnum


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

    @property
    def mime(self) -> str:
        return _MIME[self]

    @property
    def extension(self) -> str:
        return "jpg" if self is ImageFormat.JPEG else self.value

    @property
    def supports_alpha(self) -> bool:
        return self not in (ImageFormat.JPEG, ImageFormat.BMP)

    @property
    def supports_animation(self) -> bool:
        return self in (ImageFormat.GIF, ImageFormat.WEBP)

    @property
    def supports_quality(self) -> bool:
        return self in (ImageFormat.JPEG, ImageFormat.WEBP, ImageFormat.AVIF, ImageFormat.HEIC,
                        ImageFormat.JXL, ImageFormat.TIFF)

    @property
    def is_vector(self) -> bool:
        return self is ImageFormat.SVG


_MIME = {
    ImageFormat.JPEG: "image/jpeg",
    ImageFormat.PNG: "image/png",
    ImageFormat.WEBP: "image/webp",
    ImageFormat.AVIF: "image/avif",
    ImageFormat.GIF: "image/gif",
    ImageFormat.ICO: "image/x-icon",
    ImageFormat.SVG: "image/svg+xml",
    ImageFormat.HEIC: "image/heif",
    ImageFormat.BMP: "image/bmp",
    ImageFormat.TIFF: "image/tiff",
    ImageFormat.JXL: "image/jxl",
}

_ALIASES = {"jpg": ImageFormat.JPEG, "tif": ImageFormat.TIFF, "heif": ImageFormat.HEIC}


def format_by_name(name: str) -> ImageFormat | None:
    """The format for an option value or URL extension (``jpg``, ``webp``, ...)."""
    low = name.lower()
    if low in _ALIASES:
        return _ALIASES[low]
    try:
        return ImageFormat(low)
    except ValueError:
        return None


def sniff_format(data: bytes) -> ImageFormat | None:
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
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
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
    if _looks_like_svg(data):
        return ImageFormat.SVG
    return None


def _looks_like_svg(data: bytes) -> bool:
    text = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not text.startswith(b"<"):
        return False
    return b"<svg" in text
