"""The landing page's animated example animates, whatever IMGPROXY_MAX_ANIMATION_FRAMES says."""

from __future__ import annotations

import html
import re

import httpx
import pytest
import pyvips

from tests.servers import ASSETS

DEMO = ASSETS.parent.parent / "imgproxy_py" / "demo"


def example_urls(page: str) -> dict[str, str]:
    """Each example's title (its alt text) and image URL."""
    found = re.findall(r'<img src="([^"]+)" alt="([^"]+)">', page)
    return {html.unescape(alt): html.unescape(src) for src, alt in found}


@pytest.mark.parametrize("frames", ["", "100"])
def test_the_animated_example_has_frames(client: httpx.Client, start_server, frames: str) -> None:  # type: ignore[no-untyped-def]
    env = {"IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(DEMO)}
    if frames:
        env["IMGPROXY_MAX_ANIMATION_FRAMES"] = frames
    server = start_server(**env)
    page = client.get(server.base + "/")
    assert page.status_code == 200
    animated = [url for title, url in example_urls(page.text).items() if title.startswith("Animated")]
    assert len(animated) == 1
    response = client.get(server.base + animated[0])
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    img = pyvips.Image.new_from_buffer(response.content, "", n=-1)
    assert img.get("n-pages") > 1
    if frames:  # processed: resized, every frame kept
        assert (img.width, img.get("page-height")) == (150, 150)
        assert img.get("n-pages") == 42
