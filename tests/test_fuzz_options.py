"""Fuzz every registered processing option in process: URL, options, pipeline, response headers.

Whatever the path, a request ends with an image or with one of the project's documented errors
(``imgproxy_py.errors``) carrying one of imgproxy's statuses; never another exception, a hang or
unbounded memory.  The default run is short; ``FUZZ_EXAMPLES=100000`` makes a long one.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from imgproxy_py.config import load_config
from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import ImgproxyError
from imgproxy_py.formats import ImageFormat, sniff_format
from imgproxy_py.imaging.pipeline import process_image
from imgproxy_py.options.parser import ClientFeatures
from imgproxy_py.server.checks import parse_and_verify
from imgproxy_py.server.composition import Services, build_services
from imgproxy_py.server.etag import options_tag
from imgproxy_py.server.responses import CachePolicy, content_disposition
from tests.fuzz_urls import ENCRYPTION_KEY, PRESETS, address_space_limit, image_path
from tests.servers import ASSETS

DOCUMENTED_STATUSES = frozenset({403, 404, 422, 429, 503, 504})
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
# A short time budget per request, so that a huge request ends as 503 instead of running on.
DEADLINE_S = 1.0
# The most any example may take: the budget plus what a busy machine adds to encoders that
# libvips can't interrupt (AVIF).  Longer is a hang.
HANG_S = 30.0
# Fuzzed results stay small (1 MP) so that thousands of examples stay fast; the production
# ceiling is tested on its own.  The address-space limit is a backstop for the machine.
RESULT_PIXELS = 1 << 20
ADDRESS_SPACE_HEADROOM = 6 << 30
# 16bit.deflate.tif: a 16-bit grey source, which preserve_hdr (on below) keeps at 16 bits.
IMAGES = ("hopper.jpg", "p_trns_single.png", "hopper_orientation_6.jpg", "hopper.gif",
          "decompression_bomb_extents.gif", "hopper.webp", "16bit.deflate.tif")
_BAD_HEADER_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@pytest.fixture(scope="module", autouse=True)
def bounded_memory() -> Iterator[None]:
    with address_space_limit(ADDRESS_SPACE_HEADROOM):
        yield


@functools.cache
def services() -> Services:
    env = {
        "IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(ASSETS),
        "IMGPROXY_SOURCE_URL_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "IMGPROXY_WATERMARK_PATH": str(ASSETS / "core" / "p_trns_single.png"),
        "IMGPROXY_PRESETS": PRESETS,
        "IMGPROXY_MAX_ANIMATION_FRAMES": "4",
        "IMGPROXY_DETECTION_THREADS": "1",
        "IMGPROXY_PRESERVE_HDR": "true",  # the 16-bit and grey paths of the steps get fuzzed too
    }
    built = build_services(load_config(env))
    built.processor = dataclasses.replace(
        built.processor, settings=dataclasses.replace(built.processor.settings, max_result_resolution=RESULT_PIXELS))
    return built


@functools.cache
def image_data(name: str) -> bytes:
    return (ASSETS / "core" / name).read_bytes()


client_features = st.builds(
    ClientFeatures, accepts_webp=st.booleans(), accepts_avif=st.booleans(),
    dpr=st.one_of(st.just(0.0), st.floats(0.001, 99_999)), width=st.one_of(st.just(0), st.integers(1, 99_999)))


def handle(services: Services, path: str, name: str, features: ClientFeatures) -> None:
    """What ``server.processing.handle_image`` does with a path, without the network."""
    parsed = parse_and_verify(services, path)
    options = services.options.parse(parsed.options, parsed.source.extension, features)
    out = options.output
    tag = options_tag(services.options.canonical(options), services.config.delivery.etag_buster)
    headers = {"ETag": tag, **CachePolicy(services.config.server.ttl).headers(out.expires)}
    if out.raw:
        return
    result = process_image(services.processor, image_data(name), options, Deadline.after(DEADLINE_S), name)
    headers["Content-Disposition"] = content_disposition(parsed.source.url, out, result.format)
    for value in headers.values():
        value.encode("latin-1")  # what the server will send must be a valid header value
        assert not _BAD_HEADER_CHARS.search(value), value
    assert result.data
    if result.format is not ImageFormat.SVG:
        assert result.width > 0 and result.height > 0
        assert result.width * result.height <= RESULT_PIXELS
    assert sniff_format(result.data) is result.format


@settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(path=image_path(), image=st.sampled_from(IMAGES), features=client_features)
@example(path="/unsafe/pd:99999999999999999999/plain/local:///chelsea.jpg", image=IMAGES[0],
         features=ClientFeatures())
@example(path="/unsafe/pd:9223372036854775807/plain/local:///chelsea.jpg", image=IMAGES[0],
         features=ClientFeatures())
def test_any_url_is_an_image_or_a_documented_error(path: str, image: str, features: ClientFeatures) -> None:
    started = time.monotonic()
    try:
        handle(services(), path, image, features)
    except ImgproxyError as exc:
        assert exc.status in DOCUMENTED_STATUSES, f"{type(exc).__name__} ({exc.status}): {exc}"
    elapsed = time.monotonic() - started
    assert elapsed < HANG_S, f"took {elapsed:.1f}s"
