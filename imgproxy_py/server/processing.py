"""The image endpoint: signature, options, source, processing, response."""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request
from starlette.responses import Response

from imgproxy_py.errors import ForbiddenError, SignatureError
from imgproxy_py.formats import ImageFormat, sniff_format
from imgproxy_py.imaging.context import Deadline
from imgproxy_py.options.model import RequestOptions
from imgproxy_py.options.parser import ClientFeatures
from imgproxy_py.security.encryption import decrypt_source_url
from imgproxy_py.security.signature import verify_signature
from imgproxy_py.server.responses import cache_headers, content_disposition
from imgproxy_py.server.services import Services
from imgproxy_py.urlpath import ParsedPath, parse_path

log = logging.getLogger("imgproxy_py.server")


def raw_path(request: Request, prefix: str) -> str:
    """The path as the client sent it (still percent-encoded): what signatures cover."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else request.url.path
    path = path.split("?", 1)[0]
    if prefix and path.startswith(prefix):
        path = path[len(prefix):]
    return path


def check_secret(request: Request, secret: str) -> None:
    if not secret:
        return
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {secret}".encode()):
        raise ForbiddenError("missing or wrong Authorization header", public_message="Forbidden")


def parse_and_verify(services: Services, path: str) -> ParsedPath:
    config = services.config
    key = config.security.source_url_encryption_key
    parsed = parse_path(path, config.url, (lambda c: decrypt_source_url(c, key)) if key else None)
    sec = config.security
    if sec.signing_enabled:
        if not verify_signature(parsed.signature, parsed.signed_path, sec.key_salt_pairs,
                                sec.signature_size, sec.trusted_signatures):
            raise SignatureError(f"invalid signature for {parsed.signed_path}")
    elif config.url.arguments_separator in parsed.signature:
        raise SignatureError("signature segment is missing",
                             public_message="Invalid signature: the signature segment is missing")
    return parsed


def client_features(request: Request, services: Services) -> ClientFeatures:
    accept = request.headers.get("accept", "")
    dpr = width = 0.0
    if services.config.server.enable_client_hints:
        dpr = _header_float(request, "sec-ch-dpr", "dpr")
        width = _header_float(request, "sec-ch-width", "width")
    return ClientFeatures(accepts_webp="image/webp" in accept, accepts_avif="image/avif" in accept,
                          dpr=dpr, width=int(width))


def _header_float(request: Request, *names: str) -> float:
    for name in names:
        value = request.headers.get(name)
        if value:
            try:
                number = float(value)
            except ValueError:
                continue
            if 0 < number < 100_000:
                return number
    return 0.0


def vary_header(services: Services) -> str:
    proc = services.config.processing
    vary = []
    if proc.auto_webp or proc.enforce_webp or proc.auto_avif or proc.enforce_avif:
        vary.append("Accept")
    if services.config.server.enable_client_hints:
        vary += ["Sec-CH-DPR", "DPR", "Sec-CH-Width", "Width"]
    return ", ".join(vary)


async def handle_image(request: Request, services: Services) -> Response:
    config = services.config
    deadline = Deadline.after(config.server.timeout)
    check_secret(request, config.server.secret)
    parsed = parse_and_verify(services, raw_path(request, config.server.path_prefix))
    options = services.options.parse(parsed.options, parsed.source.extension, client_features(request, services))
    source = await services.fetcher.fetch(parsed.source.url)
    out = options.output
    headers = cache_headers(config.server.ttl, out.expires)
    if config.server.cache_control_passthrough and source.cache_control:
        headers["Cache-Control"] = source.cache_control
        if source.expires:
            headers["Expires"] = source.expires
    headers["Content-Security-Policy"] = "script-src 'none'"
    vary = vary_header(services)
    if vary:
        headers["Vary"] = vary
    if out.raw:
        fmt = sniff_format(source.data)
        media_type = fmt.mime if fmt else source.headers.get("content-type", "application/octet-stream")
        headers["Content-Disposition"] = content_disposition(parsed.source.url, out, fmt or ImageFormat.JPEG)
        return Response(source.data, media_type=media_type, headers=headers)
    result = await services.workers.run(deadline, services.processor.process, source.data, options, deadline)
    headers["Content-Disposition"] = content_disposition(parsed.source.url, out, result.format)
    if config.server.set_canonical_header and source.url.startswith(("http://", "https://")):
        headers["Link"] = f'<{source.url}>; rel="canonical"'
    log_result(request, options, result.format)
    return Response(result.data, media_type=result.format.mime, headers=headers)


def log_result(request: Request, options: RequestOptions, fmt: ImageFormat) -> None:
    request.state.result_format = fmt.value
    request.state.pipelines = len(options.pipelines)
