"""IMGPROXY_MAX_SVG_CHECK_BYTES: how far into a file the <svg> tag is looked for (imgproxy's 32 KB
by default; editors write long comments and DOCTYPEs before it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from imgproxy_py.formats import ImageFormat, sniff_format
from tests.conftest import decode
from tests.servers import AppServer

PREAMBLE = b'<?xml version="1.0"?>\n<!-- ' + b"exported by an editor " * 500 + b"-->\n"  # 11 kB
SVG = PREAMBLE + (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
                  b'<rect width="40" height="20" fill="red"/></svg>')


def test_sniffing() -> None:
    assert len(PREAMBLE) > 10_000
    assert sniff_format(SVG) is ImageFormat.SVG
    assert sniff_format(SVG, svg_check_bytes=4096) is None


@pytest.mark.parametrize(("setting", "status"), [("", 200), ("4096", 422)])
def test_through_the_server(tmp_path: Path, start_server: Callable[..., AppServer], setting: str,
                            status: int) -> None:
    (tmp_path / "drawing.svg").write_bytes(SVG)
    server = start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(tmp_path),
                          **({"IMGPROXY_MAX_SVG_CHECK_BYTES": setting} if setting else {}))
    image = httpx.get(f"{server.base}/unsafe/f:png/plain/local:///drawing.svg", timeout=30)
    info = httpx.get(f"{server.base}/info/unsafe/plain/local:///drawing.svg", timeout=30)
    assert (image.status_code, info.status_code) == (status, status)
    if status == 200:
        assert (decode(image.content).width, decode(image.content).height) == (40, 20)
        assert info.json()["format"] == "svg"
