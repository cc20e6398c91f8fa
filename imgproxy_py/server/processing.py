"""The image endpoint: signature, options, source, processing, response."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response

from imgproxy_py.cluster.entry import CacheEntry
from imgproxy_py.cluster.keys import key_cookies
from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import FALLBACK_ERRORS, ImgproxyError
from imgproxy_py.formats import sniff_format
from imgproxy_py.imaging.pipeline import ProcessResult, process_image
from imgproxy_py.options.model import OutputOptions, RequestOptions
from imgproxy_py.options.parser import ClientFeatures
from imgproxy_py.server.checks import (
    check_secret,
    client_features,
    parse_and_verify,
    parse_off_the_loop_when_long,
    raw_path,
    require_features,
)
from imgproxy_py.server.composition import Services
from imgproxy_py.server.delivery import cache_tag_headers, check_allowed, check_hashsum
from imgproxy_py.server.disconnect import stopped_when_client_leaves
from imgproxy_py.server.etag import (
    busted_last_modified,
    if_modified_since_for_origin,
    make_etag,
    options_tag,
    parse_if_none_match,
)
from imgproxy_py.server.internal_cache import serve_cached
from imgproxy_py.server.raw_stream import media_type_of, stream_raw, streaming_backend
from imgproxy_py.server.responses import (
    CONTENT_SECURITY_POLICY,
    CachePolicy,
    byte_range,
    content_disposition,
)
from imgproxy_py.server.watermarks import processor_for
from imgproxy_py.sources.base import SourceImage, not_modified_since
from imgproxy_py.sources.store import identify
from imgproxy_py.url.tokenizer import ParsedPath

log = logging.getLogger("imgproxy_py.server")


def vary_header(services: Services) -> str:
    proc = services.config.processing
    vary = []
    formats = services.config.formats
    if (proc.auto_webp or proc.enforce_webp or proc.auto_avif or proc.enforce_avif
            or formats.auto_jxl or formats.enforce_jxl):
        vary.append("Accept")
    if services.config.server.enable_client_hints:
        vary += ["Sec-Ch-Dpr", "Dpr", "Sec-Ch-Width", "Width"]  # imgproxy's spelling, byte for byte
    return ", ".join(vary)


async def fetch_source(services: Services, url: str, out: OutputOptions, if_none_match: str | None,
                       if_modified_since: str | None,
                       forwarded: dict[str, str] | None = None) -> tuple[SourceImage, int | None]:
    """The source, or the fallback image with the status to answer with when it fails."""
    try:
        return await services.sources.get(url, if_none_match=if_none_match, if_modified_since=if_modified_since,
                                          bypass=out.bypass_cache, max_size=out.security.max_src_file_size,
                                          forwarded=forwarded, any_file=out.raw), None
    except FALLBACK_ERRORS as exc:
        fallback = services.fallback_image
        if out.fallback_image_url and services.fallback_images is not None:
            try:
                fallback = await services.fallback_images.get(out.fallback_image_url)
            except ImgproxyError:
                fallback = services.fallback_image
        if fallback is None:
            raise
        log.warning("source failed, serving the fallback image: %s", exc)
        code = services.config.delivery.fallback_image_http_code or exc.status
        return SourceImage(data=fallback, url=url), code


def not_modified(headers: dict[str, str]) -> Response:
    keep = {k: v for k, v in headers.items() if k in ("Cache-Control", "Expires", "ETag", "Last-Modified", "Vary")}
    return Response(status_code=304, headers=keep)


async def handle_image(request: Request, services: Services, parsed: ParsedPath | None = None) -> Response:
    """An image request; ``parsed`` is given by routes that build the URL themselves
    (media routes), which have their own authentication."""
    deadline = Deadline.after(services.config.server.timeout)
    async with stopped_when_client_leaves(request.receive, deadline):
        return await _handle_image(request, services, parsed, deadline)


async def _handle_image(request: Request, services: Services, given: ParsedPath | None,
                        deadline: Deadline) -> Response:
    config = services.config
    if given is None:
        check_secret(request, config.server.secret)
    path = raw_path(request)
    parsed, options, canonical = await parse_off_the_loop_when_long(
        services.workers, deadline, path, _read_path, services, path, given, client_features(request, services))
    require_features(options, services)
    out = options.output
    # In the request's "Completed" log line, as imgproxy logs them.
    request.state.log_fields = {"image_url": parsed.source.url[:2048], "processing_options": canonical[:2048]}
    check_allowed(out, config)
    if out.raw and (backend := streaming_backend(services, parsed.source.url, out)) is not None:
        return await stream_raw(request, services, backend, parsed.source.url, out)
    cache = services.internal_cache
    if cache is not None and not out.raw:
        key = cache.key(parsed.source.url, canonical, request.headers,
                        key_cookies(request.headers.getlist("cookie"), cache.config.key_cookies))
        source_path = parsed
        # The entry serves every expiry and every cache_tags of this URL (neither is in the key):
        # rendered and kept for the full TTL without tags, each answer capped by its own
        # ``expires`` and given its own tag headers when served.  Made only on a miss: copying
        # the options costs 20 µs, 4% of a hit's CPU.
        def shared() -> RequestOptions:
            return replace(options, output=replace(out, expires=None, cache_tags=()))

        async def render() -> Response:
            return await _render(request, services, source_path, shared(), canonical, deadline, conditional=False)

        async def revalidate(entry: CacheEntry) -> CacheEntry | None:
            return await _revalidate(services, source_path.source.url, shared().output, entry)

        return await serve_cached(request, cache, key, render, revalidate, deadline, bypass=out.bypass_cache,
                                  expires=out.expires, tag_headers=cache_tag_headers(out, config))
    return await _render(request, services, parsed, options, canonical, deadline, conditional=True)


async def _render(request: Request, services: Services, parsed: ParsedPath, options: RequestOptions,
                  canonical: str, deadline: Deadline, conditional: bool) -> Response:
    """Fetch, process and answer; ``conditional``: honour the client's validators (the
    internal cache answers them itself from its entry)."""
    config = services.config
    delivery = config.delivery
    out = options.output
    opts_tag = options_tag(canonical, delivery.etag_buster)

    # Conditional request: hand the origin its own ETag back, so an unchanged source costs
    # neither a download nor processing.
    inm = request.headers.get("if-none-match") if conditional else None
    client_tags = parse_if_none_match(inm) if delivery.use_etag else []
    matching = [t for t in client_tags if t.options == opts_tag]
    origin_etag = next((t.value for t in matching if t.kind == "R"), None)
    ims = request.headers.get("if-modified-since") if delivery.use_last_modified and conditional else None
    ims = if_modified_since_for_origin(ims, delivery.last_modified_buster)

    # A revalidation the origin can answer with 304 needs no worker slot: ask it first.
    early: tuple[SourceImage, int | None] | None = None
    forwarded = config.fetch.origin_headers.forwarded(request.headers, parsed.source.url)
    if origin_etag or ims:
        early = await _fetch(services, parsed.source.url, out, origin_etag, ims, forwarded)
        if early[0].not_modified:  # the source is the one the client's ETag names
            identity = "R" + (early[0].etag or origin_etag or "")
            return not_modified(_headers(services, out, early[0], early[1], opts_tag, identity))
    async with services.workers.slot(deadline):
        source, fallback_status = early or await _fetch(services, parsed.source.url, out, origin_etag, ims,
                                                        forwarded)
        if fallback_status is None:
            if out.hashsum is not None:  # a digest of the whole source: off the event loop
                await services.workers.execute(check_hashsum, out, source, deadline=deadline, span=None)
            request.state.source_validators = (source.etag or "", source.last_modified or "")
        else:  # whatever its status: the internal cache must not keep it (an outage's placeholder)
            request.state.served_fallback = True
        identity = await identify(source)
        headers = _headers(services, out, source, fallback_status, opts_tag, identity)
        if fallback_status is None and any(t.source_identity == identity for t in matching):
            return not_modified(headers)  # same options, same source bytes: nothing to redo
        if ims and source.last_modified and fallback_status is None and not_modified_since(
                source.last_modified, ims):
            return not_modified(headers)
        if out.raw:
            return raw_response(request, source, parsed.source.url, out, headers)
        result = await process(services, source, options, canonical, identity, deadline)
    headers["Content-Disposition"] = content_disposition(parsed.source.url, out, result.format)
    if config.http.enable_debug_headers:
        headers.update(debug_headers(len(source.data), result))
    if config.server.set_canonical_header and source.url.startswith(("http://", "https://")):
        headers["Link"] = f'<{source.url}>; rel="canonical"'
    request.state.result_format = result.format.value
    return Response(result.data, status_code=fallback_status or 200, media_type=result.format.mime,
                    headers=headers)


def _read_path(services: Services, path: str, parsed: ParsedPath | None,
               features: ClientFeatures) -> tuple[ParsedPath, RequestOptions, str]:
    """The request's path (unless a media route ``parsed`` it), its options and their canonical form."""
    if parsed is None:
        parsed = parse_and_verify(services, path)
    options = services.options.parse(parsed.options, parsed.source.extension, features)
    return parsed, options, services.options.canonical(options)


def debug_headers(source_size: int, result: ProcessResult) -> dict[str, str]:
    """``IMGPROXY_ENABLE_DEBUG_HEADERS``: the source's size and dimensions and the result's."""
    return {"X-Origin-Content-Length": str(source_size), "X-Origin-Width": str(result.source_width),
            "X-Origin-Height": str(result.source_height), "X-Result-Width": str(result.width),
            "X-Result-Height": str(result.height)}


async def _revalidate(services: Services, url: str, out: OutputOptions, entry: CacheEntry) -> CacheEntry | None:
    """The internal cache's stale entry, fresh again when the origin says its source is unchanged."""
    try:
        source = await services.sources.get(url, if_none_match=entry.source_etag or None,
                                            if_modified_since=entry.source_last_modified or None,
                                            max_size=out.security.max_src_file_size)
    except ImgproxyError:
        return None  # rendering anew meets the same error and answers it properly
    if not source.not_modified:
        return None
    # The Cache-Control and Expires a rendering now would send: IMGPROXY_TTL, or with
    # IMGPROXY_CACHE_CONTROL_PASSTHROUGH the 304's own.
    headers = _cache_policy(services).headers(out.expires, origin_cache_control=source.cache_control,
                                              origin_expires=source.expires)
    # And what the 304 says of the headers IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH lists.
    headers.update(services.config.fetch.origin_headers.passed_back(source.headers))
    return entry.refreshed(last_of_each(headers))


def raw_response(request: Request, source: SourceImage, url: str, out: OutputOptions,
                 headers: dict[str, str]) -> Response:
    """The source unchanged, with single-range support (video players seek with Range)."""
    fmt = sniff_format(source.data)
    media_type = fmt.mime if fmt else media_type_of(source.data[:256], source.headers.get("content-type"))
    if fmt is not None:
        headers["Content-Disposition"] = content_disposition(url, out, fmt)
    headers["Accept-Ranges"] = "bytes"
    size = len(source.data)
    try:
        span = byte_range(request.headers.get("range"), size)
    except ValueError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    if span is None:
        return Response(source.data, media_type=media_type, headers=headers)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(source.data[start:end + 1], status_code=206, media_type=media_type, headers=headers)


async def _fetch(services: Services, url: str, out: OutputOptions, if_none_match: str | None,
                 if_modified_since: str | None, forwarded: dict[str, str]) -> tuple[SourceImage, int | None]:
    started = time.perf_counter()
    try:
        return await fetch_source(services, url, out, if_none_match, if_modified_since, forwarded)
    finally:
        if services.metrics is not None:
            services.metrics.span("downloading_image", time.perf_counter() - started)


def _headers(services: Services, out: OutputOptions, source: SourceImage, fallback_status: int | None,
             opts_tag: str, identity: str) -> dict[str, str]:
    """The answer's headers; ``identity``: the source's (``sources.store.identify``), for the ETag."""
    config = services.config
    delivery = config.delivery
    headers = _cache_policy(services).headers(out.expires, fallback=fallback_status is not None,
                                              status=fallback_status or 200, origin_cache_control=source.cache_control,
                                              origin_expires=source.expires)
    if fallback_status is None:  # IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH
        headers.update(config.fetch.origin_headers.passed_back(source.headers))
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers.update(cache_tag_headers(out, config))
    vary = vary_header(services)
    if vary:
        headers["Vary"] = vary
    if delivery.use_last_modified and source.last_modified:
        last_modified = busted_last_modified(source.last_modified, delivery.last_modified_buster)
        if last_modified:
            headers["Last-Modified"] = last_modified
    if delivery.use_etag and fallback_status is None:
        headers["ETag"] = make_etag(opts_tag, identity)
    return last_of_each(headers)


def _cache_policy(services: Services) -> CachePolicy:
    server = services.config.server
    return CachePolicy(server.ttl, server.cache_control_passthrough, services.config.delivery.fallback_image_ttl)


def last_of_each(headers: dict[str, str]) -> dict[str, str]:
    """One value per header name whatever its case (``IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH`` may
    spell ``cache-control``): the last one set wins, so the origin's passed-back header overrides
    the cache policy's, and what is set after it (ETag, Last-Modified) overrides the origin's."""
    merged: dict[str, tuple[str, str]] = {}
    for name, value in headers.items():
        merged[name.lower()] = (name, value)
    return dict(merged.values())


async def process(services: Services, source: SourceImage, options: RequestOptions, canonical: str,
                  identity: str, deadline: Deadline) -> ProcessResult:
    """Process once per (options, source) even under concurrent requests; cache the result."""
    key = f"{canonical}\x00{identity}"
    # bypass_cache: processed again, and the new result replaces the cached one.
    cached = None if options.output.bypass_cache else services.results.get(key)
    if cached is not None:
        return cached

    async def compute() -> ProcessResult:
        services.images_processed += 1
        processor = await processor_for(services, options)  # with its watermark_url images
        result = await services.workers.execute(process_image, processor, source.data, options,
                                                deadline, identity, deadline=deadline)
        services.results.put(key, result)
        return result

    return await services.result_flights.run(key, compute)


