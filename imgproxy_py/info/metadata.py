"""EXIF, IPTC (with Photoshop's resolution) and XMP in the JSON shapes of imgproxy's ``/info``.

Read from the blobs libvips finds in the header (no pixel is decoded): EXIF with ``exifread``,
IPTC-IIM with ``iptcinfo3``, XMP (which is XML) with the standard library's parser.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import xml.etree.ElementTree as ET
from typing import Any

import pyvips

# libexif's titles (imgproxy's readable names) for the common tags; the rest are the canonical
# name split into words.
_EXIF_TITLES = {
    "ApertureValue": "Aperture", "Artist": "Artist", "BrightnessValue": "Brightness", "ColorSpace": "Color Space",
    "Contrast": "Contrast", "Copyright": "Copyright", "DateTime": "Date and Time",
    "DateTimeDigitized": "Date and Time (Digitized)", "DateTimeOriginal": "Date and Time (Original)",
    "DigitalZoomRatio": "Digital Zoom Ratio", "ExifVersion": "Exif Version", "ExposureBiasValue": "Exposure Bias",
    "ExposureMode": "Exposure Mode", "ExposureProgram": "Exposure Program", "ExposureTime": "Exposure Time",
    "FNumber": "F-Number", "Flash": "Flash", "FlashPixVersion": "FlashPixVersion", "FocalLength": "Focal Length",
    "FocalLengthIn35mmFilm": "Focal Length in 35mm Film", "GPSAltitude": "Altitude",
    "GPSAltitudeRef": "Altitude Reference", "GPSLatitude": "Latitude", "GPSLatitudeRef": "North or South Latitude",
    "GPSLongitude": "Longitude", "GPSLongitudeRef": "East or West Longitude", "GPSVersionID": "GPS Tag Version",
    "ISOSpeedRatings": "ISO Speed Ratings", "ImageDescription": "Image Description", "LensMake": "Lens Make",
    "LensModel": "Lens Model", "LightSource": "Light Source", "Make": "Manufacturer",
    "MaxApertureValue": "Maximum Aperture Value", "MeteringMode": "Metering Mode", "Model": "Model",
    "Orientation": "Orientation", "ResolutionUnit": "Resolution Unit", "Saturation": "Saturation",
    "SceneCaptureType": "Scene Capture Type", "Sharpness": "Sharpness", "ShutterSpeedValue": "Shutter Speed",
    "Software": "Software", "WhiteBalance": "White Balance", "XResolution": "X-Resolution",
    "YCbCrPositioning": "YCbCr Positioning", "YResolution": "Y-Resolution",
    "ExifImageWidth": "Pixel X Dimension", "ExifImageLength": "Pixel Y Dimension",
}
# exifread groups tags by IFD; the thumbnail's own IFD and undecoded blobs are left out.
_SKIPPED_EXIF_GROUPS = ("Thumbnail", "JPEGThumbnail", "MakerNote")
_SKIPPED_EXIF_TAGS = {"ExifOffset", "GPSInfo", "MakerNote", "UserComment", "InteroperabilityOffset"}
# IPTC-IIM datasets under the names imgproxy answers with; others are iptcinfo3's name in title case.
_IPTC_NAMES = {
    "object name": "Name", "caption/abstract": "Caption", "by-line": "By-line", "by-line title": "By-line Title",
    "country/primary location name": "Country Name", "country/primary location code": "Country Code",
    "province/state": "Province/State", "writer/editor": "Writer/Editor", "credit line": "Credit",
}
_RESOLUTION_UNITS = {1: "inches", 2: "cm"}  # Photoshop's ResolutionInfo (0x03ED) codes
_SIZE_UNITS = {1: "inches", 2: "cm", 3: "points", 4: "picas", 5: "columns"}
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def _blob(header: pyvips.Image, name: str) -> bytes:
    if name not in header.get_fields():
        return b""
    value = header.get(name)
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else b""


def _words(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)


def exif(header: pyvips.Image, canonical_names: bool) -> dict[str, str]:
    import exifread  # lazily: only /info reads EXIF this way

    blob = _blob(header, "exif-data")
    if not blob:
        return {}
    if blob.startswith(b"Exif\x00\x00"):
        blob = blob[6:]  # exifread reads the TIFF structure that follows
    logging.getLogger("exifread").setLevel(logging.ERROR)
    try:
        tags = exifread.process_file(io.BytesIO(blob), details=False)
    except Exception:  # exifread's own errors on damaged data: no EXIF rather than a 500
        return {}
    out: dict[str, str] = {}
    for key, tag in tags.items():
        group, _, name = key.partition(" ")
        if group in _SKIPPED_EXIF_GROUPS or not name or name in _SKIPPED_EXIF_TAGS:
            continue
        label = name if canonical_names else _EXIF_TITLES.get(name, _words(name))
        out[label] = str(tag.printable if hasattr(tag, "printable") else tag).strip()
    return dict(sorted(out.items()))


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return value.decode("latin-1").strip()


def iptc(data: bytes, header: pyvips.Image) -> dict[str, Any]:
    """IPTC-IIM datasets (JPEG's APP13), text or lists of text for repeated datasets."""
    if not _blob(header, "iptc-data") or not data.startswith(b"\xff\xd8"):
        return {}
    from iptcinfo3 import IPTCInfo, c_datasets  # lazily: only /info reads IPTC

    logging.getLogger("iptcinfo").setLevel(logging.ERROR)
    try:
        found = IPTCInfo(io.BytesIO(data), force=True)._data
    except Exception:  # iptcinfo3's own errors on damaged data
        return {}
    out: dict[str, Any] = {}
    for key, value in found.items():
        if value in (None, b"", []):
            continue
        name = c_datasets.get(key, f"dataset {key}")
        label = _IPTC_NAMES.get(name, name.title())
        out[label] = [_text(v) for v in value] if isinstance(value, list) else _text(value)
    return dict(sorted(out.items()))


def photoshop(header: pyvips.Image) -> dict[str, Any]:
    """Photoshop's image resources in APP13: the resolution (``ResolutionInfo``, id 0x03ED)."""
    blob = _blob(header, "iptc-data")
    at = blob.find(b"8BIM\x03\xed")
    if at < 0:
        return {}
    name_len = blob[at + 6] if len(blob) > at + 6 else 0
    start = at + 6 + ((name_len + 2) & ~1)  # the Pascal name, padded to even
    body = blob[start + 4:start + 4 + 16]
    if len(body) < 16:
        return {}
    h_res, h_unit, w_unit, v_res, v_unit, height_unit = struct.unpack(">IHHIHH", body)
    return {"resolution": {
        "XResolution": round(h_res / 65536, 4), "XResolutionUnit": _RESOLUTION_UNITS.get(h_unit, str(h_unit)),
        "WidthUnit": _SIZE_UNITS.get(w_unit, str(w_unit)),
        "YResolution": round(v_res / 65536, 4), "YResolutionUnit": _RESOLUTION_UNITS.get(v_unit, str(v_unit)),
        "HeightUnit": _SIZE_UNITS.get(height_unit, str(height_unit)),
    }}


def xmp(header: pyvips.Image) -> dict[str, dict[str, Any]]:
    """XMP properties grouped by their namespace's prefix: text, or lists for ``rdf:Bag``/``Seq``."""
    blob = _blob(header, "xmp-data").rstrip(b"\x00 \n\r\t")
    if not blob or b"<!DOCTYPE" in blob or b"<!ENTITY" in blob:  # no entity expansion, ever
        return {}
    prefixes: dict[str, str] = {}
    try:
        root: ET.Element | None = None
        for event, item in ET.iterparse(io.BytesIO(blob), events=("start-ns", "end")):
            if event == "start-ns":
                prefix, uri = item
                prefixes.setdefault(uri, prefix)
            else:
                root = item
    except ET.ParseError:
        return {}
    out: dict[str, dict[str, Any]] = {}
    if root is None:
        return out
    for description in root.iter(f"{{{_RDF}}}Description"):
        for attr, value in description.attrib.items():
            _put(out, prefixes, attr, value)
        for prop in description:
            _put(out, prefixes, prop.tag, _xmp_value(prop))
    return out


def _put(out: dict[str, dict[str, Any]], prefixes: dict[str, str], tag: str, value: Any) -> None:
    if not tag.startswith("{"):
        return
    uri, _, name = tag[1:].partition("}")
    if uri == _RDF or value is None:
        return
    out.setdefault(prefixes.get(uri, uri), {})[name] = value


def _xmp_value(prop: ET.Element) -> Any:
    for container in ("Bag", "Seq"):
        found = prop.find(f"{{{_RDF}}}{container}")
        if found is not None:
            return [(li.text or "").strip() for li in found.findall(f"{{{_RDF}}}li")]
    alt = prop.find(f"{{{_RDF}}}Alt")
    if alt is not None:  # language alternatives: the default one's text
        first = alt.find(f"{{{_RDF}}}li")
        return (first.text or "").strip() if first is not None else ""
    if len(prop):  # a structure: its fields by name
        return {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in prop}
    return (prop.text or "").strip() or prop.attrib.get(f"{{{_RDF}}}resource", "")
