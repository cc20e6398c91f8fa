"""Recognising video containers by their first bytes, without loading a demuxer."""

from __future__ import annotations

# ISO base media brands.  Image brands win over video ones, because HEIF/AVIF files usually also
# list generic brands such as "iso8" or "mif1"; "crx " is Canon's CR3 RAW.
_IMAGE_BRANDS = frozenset(
    {b"avif", b"avis", b"avio", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx",
     b"mif1", b"mif2", b"msf1", b"miaf", b"jpeg", b"jpgs", b"crx "}
)
_VIDEO_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"mp71", b"avc1",
     b"M4V ", b"M4VH", b"M4VP", b"qt  ", b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3g2a", b"3g2b",
     b"3g2c", b"mmp4", b"MSNV", b"dash", b"f4v ", b"XAVC", b"NDAS", b"dby1"}
)
# Top-level atoms that open QuickTime files written before "ftyp" existed.
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def is_video(data: bytes) -> bool:
    """MP4/MOV (ISO base media, but not HEIF/AVIF/CR3), WebM/Matroska or AVI, by magic bytes."""
    head = bytes(data[:64])
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return True
    if len(head) < 12:
        return False
    if head[4:8] == b"ftyp":
        return _video_brands(bytes(data[:256]))
    atom_size = int.from_bytes(head[:4], "big")
    return head[4:8] in _QUICKTIME_ATOMS and (atom_size == 1 or atom_size >= 8)


def _video_brands(head: bytes) -> bool:
    size = int.from_bytes(head[:4], "big")
    end = min(len(head), size if size >= 16 else 16)
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, end - 3, 4)]
    if any(brand in _IMAGE_BRANDS for brand in brands):
        return False
    return any(brand in _VIDEO_BRANDS for brand in brands)


