"""A request's ``watermark_url`` images, fetched before its processing starts: the processor
it is processed with carries them (``PipelineDeps.fetched_watermarks``)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from imgproxy_py.imaging.dependencies import FetchedWatermarks
from imgproxy_py.imaging.pipeline import Processor
from imgproxy_py.options.model import RequestOptions
from imgproxy_py.server.composition import Services


def watermark_urls(services: Services, options: RequestOptions) -> list[str]:
    """The URLs of the watermarks the request will place: a text watermark wins over a URL,
    and a pipeline without ``wm`` (or a server opacity of 0) places none."""
    if services.config.processing.watermark_opacity <= 0:
        return []
    return [po.watermark_style.url for po in options.pipelines
            if po.watermark_style.url and not po.watermark_style.text and po.watermark.opacity > 0]


async def processor_for(services: Services, options: RequestOptions) -> Processor:
    """The server's processor, with the request's watermark images when it has any."""
    urls = watermark_urls(services, options)
    if not urls or services.watermarks is None:
        return services.processor
    images = await services.watermarks.get_all(urls)
    fetched = FetchedWatermarks(MappingProxyType(images), services.config.security.max_src_resolution)
    processor = services.processor
    return dataclasses.replace(processor, deps=dataclasses.replace(processor.deps, fetched_watermarks=fetched))
