"""Recognising camera RAW files by content (magic bytes and TIFF structure), before any decoder
sees them: what is not recognised here never reaches ImageMagick."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

_EXTENSIONS = {
    ".dng": "DNG", ".cr2": "CR2", ".crw": "CRW", ".nef": "NEF", ".nrw": "NRW", ".arw": "ARW",
    ".srf": "SRF", ".sr2": "SR2", ".orf": "ORF", ".rw2": "RW2", ".pef": "PEF", ".srw": "SRW",
    ".raf": "RAF",
}
# Coders ImageMagick's RAW module registers for the formats above (all go through the converter).
RAW_CODERS = frozenset(_EXTENSIONS.values())
# TIFF-based RAW files name their maker in IFD0; those makers' coder.
_MAKERS = (
    ("NIKON", "NEF"), ("SONY", "ARW"), ("PENTAX", "PEF"), ("RICOH", "PEF"), ("SAMSUNG", "SRW"),
    ("OLYMPUS", "ORF"), ("OM DIGITAL", "ORF"), ("CANON", "CR2"), ("PANASONIC", "RW2"), ("LEICA", "RW2"),
)
# Compression values that only RAW files use in IFD0 (Nikon, Sony, Pentax, Samsung).
_RAW_COMPRESSIONS = frozenset({32767, 32769, 32770, 32772, 34713, 65535})
_TAG_NEW_SUBFILE_TYPE = 254
_TAG_COMPRESSION = 259
_TAG_MAKE = 271
_TAG_SUB_IFDS = 330
_TAG_DNG_VERSION = 50706
_MAX_IFD_ENTRIES = 1024


@dataclass(frozen=True)
class _Entry:
    type: int
    count: int
    value_at: int


def _ifd0(data: bytes) -> tuple[str, dict[int, _Entry]] | None:
    """IFD0's entries of a TIFF-structured file (bounded: at most 1024 entries, within the data)."""
    order = {b"II": "<", b"MM": ">"}.get(bytes(data[:2]))
    if order is None or len(data) < 8:
        return None
    (offset,) = struct.unpack_from(order + "I", data, 4)
    if offset < 8 or offset + 2 > len(data):
        return None
    (count,) = struct.unpack_from(order + "H", data, offset)
    entries: dict[int, _Entry] = {}
    for number in range(min(count, _MAX_IFD_ENTRIES)):
        at = offset + 2 + 12 * number
        if at + 12 > len(data):
            break
        tag, kind, values = struct.unpack_from(order + "HHI", data, at)
        entries[tag] = _Entry(kind, values, at + 8)
    return order, entries


def _integer(data: bytes, order: str, entry: _Entry | None) -> int | None:
    if entry is None or entry.count < 1:
        return None
    if entry.type == 3:  # SHORT
        return int(struct.unpack_from(order + "H", data, entry.value_at)[0])
    if entry.type == 4:  # LONG
        return int(struct.unpack_from(order + "I", data, entry.value_at)[0])
    return None


def _ascii(data: bytes, order: str, entry: _Entry | None, limit: int = 64) -> str:
    if entry is None or entry.type != 2 or entry.count < 1:
        return ""
    if entry.count <= 4:
        raw = data[entry.value_at : entry.value_at + entry.count]
    else:
        (start,) = struct.unpack_from(order + "I", data, entry.value_at)
        raw = data[start : start + min(entry.count, limit)]
    return bytes(raw).split(b"\0", 1)[0].decode("latin-1").strip()


def sniff_raw(data: bytes, filename_hint: str = "") -> str | None:
    """The ImageMagick coder for a RAW file (``"DNG"``, ``"NEF"``, ...), or None if it is not one.

    Formats with their own magic are recognised by it.  TIFF-based ones need IFD0: a DNGVersion
    tag makes a DNG; otherwise the filename hint's extension, or a RAW maker in the Make tag
    together with RAW structure (sub-IFDs, a reduced-size IFD0 or a RAW-only compression).
    """
    head = bytes(data[:16])
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF"
    if head[:2] == b"II" and head[6:14] == b"HEAPCCDR":
        return "CRW"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "ORF"
    if head[:4] == b"IIU\x00":
        return "RW2"
    if head[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    if head[8:10] == b"CR":
        return "CR2"
    parsed = _ifd0(data)
    if parsed is None:
        return None
    order, entries = parsed
    if _TAG_DNG_VERSION in entries:
        return "DNG"
    hinted = _EXTENSIONS.get(os.path.splitext(filename_hint.lower())[1])
    if hinted is not None and hinted != "DNG":
        return hinted
    make = _ascii(data, order, entries.get(_TAG_MAKE)).upper()
    maker = next((coder for name, coder in _MAKERS if make.startswith(name)), None)
    if maker is None:
        return None
    structured = (
        _TAG_SUB_IFDS in entries
        or _integer(data, order, entries.get(_TAG_NEW_SUBFILE_TYPE)) == 1
        or _integer(data, order, entries.get(_TAG_COMPRESSION)) in _RAW_COMPRESSIONS
    )
    return maker if structured else None


def is_raw(data: bytes, filename_hint: str = "") -> bool:
    """Whether ``data`` is a camera RAW file (see ``sniff_raw``)."""
    return sniff_raw(data, filename_hint) is not None


def is_pdf(data: bytes) -> bool:
    return bytes(data[:1024]).lstrip(b"\x00\t\n\r ").startswith(b"%PDF-")
