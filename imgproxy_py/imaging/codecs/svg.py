"""SVG sanitizing: SVGs are passed through to browsers, so scripts must not survive."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from imgproxy_py.errors import UnprocessableImageError

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK = "{http://www.w3.org/1999/xlink}href"
_DANGEROUS_TAGS = {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener", "form"}
_SAFE_HREF = re.compile(r"^\s*(#|data:image/(png|jpeg|gif|webp|avif);)", re.IGNORECASE)
_JS_URL = re.compile(r"^(javascript|vbscript|data:text)", re.IGNORECASE)
# Browsers ignore tabs and newlines inside a URL ("java&#9;script:" runs), so a value is checked
# without any whitespace or control character.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]")
# SMIL elements that set another attribute's value over time: one that sets a link's target
# could make it a script URL after the sanitizer has looked.
_ANIMATIONS = {"set", "animate", "animatemotion", "animatetransform", "animatecolor"}
_LINK_ATTRIBUTES = {"href", "xlink:href"}
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
# libxml2's depth limit, which librsvg keeps: a document nested deeper never renders.  Checked
# first, as the walk below (and ElementTree's writer) recurse once per level.
MAX_DEPTH = 256


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def sanitize_svg(data: bytes) -> bytes:
    """Drop scripts, event handlers, external references and DOCTYPEs (entity bombs)."""
    if _DOCTYPE.search(data[:4096]):
        raise UnprocessableImageError("SVG with a DOCTYPE is not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise UnprocessableImageError(f"broken SVG: {exc}") from exc
    if _local(root.tag) != "svg":
        raise UnprocessableImageError("not an SVG document")
    if _deeper_than(root, MAX_DEPTH):
        raise UnprocessableImageError(f"SVG nested more than {MAX_DEPTH} levels deep")
    _clean(root)
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    cleaned: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return cleaned


def _deeper_than(root: ET.Element, limit: int) -> bool:
    """Whether any element lies more than ``limit`` levels below ``root``."""
    stack = [(root, 0)]
    while stack:
        element, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in element)
    return False


def _has_script_url(value: str) -> bool:
    """Whether the value, or any item of a ``;`` list (SMIL's ``values``), is a script URL."""
    return any(_JS_URL.match(item) for item in _URL_NOISE.sub("", value).split(";"))


def _dangerous(element: ET.Element) -> bool:
    local = _local(element.tag)
    if local in _DANGEROUS_TAGS:
        return True
    return local in _ANIMATIONS and element.get("attributeName", "").strip().lower() in _LINK_ATTRIBUTES


def _clean(element: ET.Element) -> None:
    for child in list(element):
        if _dangerous(child):
            element.remove(child)
        else:
            _clean(child)
    for name in list(element.attrib):
        value = element.attrib[name]
        local = _local(name)
        is_handler = local.startswith("on")
        is_external_ref = (name == _XLINK or local == "href") and not _SAFE_HREF.match(value)
        if is_handler or is_external_ref or _has_script_url(value):
            del element.attrib[name]
