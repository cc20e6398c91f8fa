"""Animated images: libvips stacks the frames vertically (``page-height`` each); the steps run
on each frame on its own, and the results are stacked again with the source's timing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import pyvips

from imgproxy_py.imaging.vips import PAGE_HEIGHT_FIELD, PAGES_FIELD, int_field, page_height, without_fields
from imgproxy_py.options.model import PipelineOptions, TrimOptions

log = logging.getLogger("imgproxy_py.processing")

# A frame's delay in milliseconds when the source doesn't say.
DEFAULT_DELAY = 40


def for_each_frame(img: pyvips.Image, po: PipelineOptions,
                   run: Callable[[pyvips.Image, PipelineOptions], pyvips.Image]) -> pyvips.Image:
    """``run`` over every frame of an animation, the frames joined again into one animation."""
    if po.trim.enabled:
        log.warning("trim is not supported for animated images; ignored")
        po = replace(po, trim=TrimOptions())
    height = page_height(img)
    count = img.height // height
    delay = list(img.get("delay")) if img.get_typeof("delay") else []
    loop = int_field(img, "loop", 0)
    frames = []
    for i in range(count):
        frame = without_fields(img.crop(0, i * height, img.width, height), PAGE_HEIGHT_FIELD, PAGES_FIELD)
        frames.append(run(frame, po))
    joined = pyvips.Image.arrayjoin(frames, across=1).copy()
    delay = (delay + [DEFAULT_DELAY] * count)[:count] if delay else [DEFAULT_DELAY] * count
    joined.set_type(pyvips.GValue.gint_type, PAGE_HEIGHT_FIELD, frames[0].height)
    joined.set_type(pyvips.GValue.gint_type, PAGES_FIELD, count)
    joined.set_type(pyvips.GValue.array_int_type, "delay", delay)
    joined.set_type(pyvips.GValue.gint_type, "loop", loop)
    return joined
