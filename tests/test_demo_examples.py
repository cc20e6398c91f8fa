"""Every option's README example, on the demo image it names, is served by the demo server.

The README's option tables are generated from the declarations (``imgproxy_py.options.doc``);
this requests each ``example`` on its ``source`` from a server configured as ``make run``
configures it, so no example in the README is a broken image.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import pyvips

from imgproxy_py.cli import demo_environment
from imgproxy_py.options.catalog import PROCESSING_OPTIONS
from imgproxy_py.options.registry import Option
from tests.servers import AppServer


@pytest.fixture(scope="module")
def demo_server() -> Iterator[AppServer]:
    server = AppServer({k: v for k, v in demo_environment().items() if k != "IMGPROXY_BIND"})
    yield server
    server.close()


@pytest.mark.parametrize("spec", PROCESSING_OPTIONS, ids=[s.name for s in PROCESSING_OPTIONS])
def test_readme_example_is_served_on_the_demo_images(demo_server: AppServer, spec: Option) -> None:
    assert spec.source, f"{spec.name} names no demo file for its example"
    response = httpx.get(f"{demo_server.base}/unsafe/{spec.example}/plain/local:///{spec.source}", timeout=120)
    assert response.status_code == 200, response.text
    if spec.name != "raw":
        image = pyvips.Image.new_from_buffer(response.content, "")
        assert image.width > 0 and image.height > 0
