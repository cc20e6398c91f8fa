"""Metadata on the result: what to strip, and the copyright that ``keep_copyright`` keeps."""

from __future__ import annotations

import struct

import pyvips

from imgproxy_py.imaging.vips import ICC_PROFILE_FIELD

_COPYRIGHT_FIELDS = (("exif-ifd0-Copyright", 0x8298), ("exif-ifd0-Artist", 0x013B))


def _exif_value(raw: str) -> str:
    # libvips renders EXIF strings as "value (value, ASCII, N components, M bytes)".
    return raw.split(" (", 1)[0].strip()


def copyright_exif(img: pyvips.Image) -> bytes | None:
    """A minimal EXIF block with only Copyright and Artist, or None if the source has none."""
    entries: list[tuple[int, bytes]] = []
    for field_name, tag in _COPYRIGHT_FIELDS:
        if img.get_typeof(field_name):
            value = _exif_value(str(img.get(field_name)))
            if value:
                entries.append((tag, value.encode("utf-8", "replace")[:1024] + b"\x00"))
    if not entries:
        return None
    entries.sort()
    header = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8)
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    blob = b""
    for tag, encoded in entries:
        if len(encoded) <= 4:
            ifd += struct.pack("<HHI", tag, 2, len(encoded)) + encoded.ljust(4, b"\x00")
        else:
            ifd += struct.pack("<HHII", tag, 2, len(encoded), data_offset + len(blob))
            blob += encoded
    ifd += struct.pack("<I", 0)
    return header + ifd + blob


def strip_metadata(img: pyvips.Image, keep_copyright: bool, keep_colour_profile: bool = False) -> pyvips.Image:
    """Remove every metadata field except those the result needs to display right: with
    ``keep_colour_profile`` (``strip_color_profile`` off), the profile an RGB source kept
    (``colorspace_to_processing``; one converted to sRGB carries none by now)."""
    exif = copyright_exif(img) if keep_copyright else None
    out = img.copy()
    for name in img.get_fields():
        if name == ICC_PROFILE_FIELD and keep_colour_profile:
            continue
        if name.startswith(("exif-", "xmp-", "iptc-", "photoshop-", ICC_PROFILE_FIELD)) or name in (
                "orientation", "gainmap-data"):
            out.remove(name)
    if exif is not None:
        out.set_type(pyvips.GValue.blob_type, "exif-data", exif)
    return out
