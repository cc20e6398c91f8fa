"""The RAW worker's private ImageMagick configuration: a ``policy.xml`` that allows only the RAW
coders and the converter, and a ``delegates.xml`` that runs the converter through a script."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from imgproxy_py.media.raw_sniff import RAW_CODERS

if TYPE_CHECKING:
    from imgproxy_py.media.raw import RawConfig

DELEGATE_SCRIPT = """#!/bin/sh
# ImageMagick's dng:decode delegate: converts RAW file $1 to 8-bit PPM $2 with the converter.
# $2 appears only when the converter succeeded: ImageMagick 6 re-reads an empty output file with
# the RAW coder again, recursing until it crashes.
if {converter} -c -q 3 -H 5 -w "$1" > "$2.part"; then
    exec mv -f "$2.part" "$2"
fi
rm -f "$2.part"
exit 1
"""


def shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def policy_xml(config: RawConfig, delegate: str) -> str:
    readable = sorted(RAW_CODERS | {"PPM", "PNM"} | ({"PDF"} if config.enable_pdf else set()))
    delegates = ["dng:decode", delegate] + (["gs", "ps:*", "pdf:*"] if config.enable_pdf else [])
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<policymap>",
        f'  <policy domain="resource" name="memory" value="{config.memory_limit}"/>',
        f'  <policy domain="resource" name="map" value="{config.map_limit}"/>',
        f'  <policy domain="resource" name="disk" value="{config.disk_limit}"/>',
        f'  <policy domain="resource" name="width" value="{config.width_limit}"/>',
        f'  <policy domain="resource" name="height" value="{config.height_limit}"/>',
        f'  <policy domain="resource" name="area" value="{config.area_limit}"/>',
        '  <policy domain="resource" name="thread" value="1"/>',
        # Rules apply in order, the last match wins: deny everything, then allow the few needed.
        '  <policy domain="coder" rights="none" pattern="*"/>',
        f'  <policy domain="coder" rights="read" pattern="{{{",".join(readable)}}}"/>',
        '  <policy domain="delegate" rights="none" pattern="*"/>',
        *(f'  <policy domain="delegate" rights="execute" pattern={quoteattr(name)}/>' for name in delegates),
        '  <policy domain="filter" rights="none" pattern="*"/>',
        '  <policy domain="path" rights="none" pattern="@*"/>',
        "</policymap>",
    ]
    return "\n".join(lines) + "\n"


def delegates_xml(script: str) -> str:
    command = quoteattr(f'"{script}" "%i" "%u.ppm"')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<delegatemap>\n"
        f'  <delegate decode="dng:decode" command={command}/>\n'
        "</delegatemap>\n"
    )
