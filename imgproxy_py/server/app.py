"""The ASGI application: routes, the one error handler, request logging."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Container

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgproxy_py.config import Config
from imgproxy_py.datadog_apm import DatadogMiddleware
from imgproxy_py.errors import ImgproxyError, RequestCancelledError, ResponseAborted, ResponseWriteError
from imgproxy_py.new_relic import NewRelicMiddleware
from imgproxy_py.server.composition import Services, build_services, lifespan
from imgproxy_py.server.error_reporting import development_error_body
from imgproxy_py.server.http_config import FAVICON_PATH, HEALTH_PATH, WELL_KNOWN_PREFIX
from imgproxy_py.server.info import handle_info
from imgproxy_py.server.landing import landing_page
from imgproxy_py.server.logs import error_in_request_line
from imgproxy_py.server.media import handle_best_frames, handle_media, handle_thumbnail
from imgproxy_py.server.media_faces import face_routes
from imgproxy_py.server.media_upload import upload_routes
from imgproxy_py.server.processing import handle_image
from imgproxy_py.server.responses import CONTENT_SECURITY_POLICY
from imgproxy_py.telemetry import TelemetryMiddleware

log = logging.getLogger("imgproxy_py.server")
# Errors are not for caches to keep (a source missing for a minute must not stay a 404 for a
# day in a CDN), and carry the images' Content-Security-Policy, as imgproxy's do.
ERROR_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": CONTENT_SECURITY_POLICY}


class PathPrefixMiddleware:
    """``IMGPROXY_PATH_PREFIX``: every route (images, ``/info``, ``/health``, the landing page,
    the media routes) is answered under the prefix, as imgproxy's router has them.  The prefix is
    taken off the path before routing, so signatures cover what follows it.  A path without the
    prefix is still routed (imgproxy answers it with a 404): probes and links written before the
    prefix was set keep working.
    """

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self.raw_prefix = prefix.encode("latin-1", "replace")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == self.prefix or path.startswith(self.prefix + "/"):
                scope = {**scope, "path": path[len(self.prefix):] or "/"}
                raw: bytes | None = scope.get("raw_path")
                if raw is not None and raw.startswith(self.raw_prefix):
                    scope["raw_path"] = raw[len(self.raw_prefix):] or b"/"
        await self.app(scope, receive, send)


_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")


def request_id_of(headers: dict[bytes, bytes]) -> str:
    """imgproxy's rule: the client's ``X-Request-ID`` when made of ``[A-Za-z0-9_-]``, else the
    ``requestId`` of AWS Lambda's ``X-Amzn-Request-Context``, else a new one.  Nothing else is
    echoed back or logged, so a header can't forge log lines or break the response's headers."""
    given = headers.get(b"x-request-id", b"").decode("latin-1")
    if _REQUEST_ID.fullmatch(given):
        return given
    context = headers.get(b"x-amzn-request-context")
    if context:
        try:
            lambda_id = json.loads(context).get("requestId")
        except (ValueError, AttributeError, RecursionError):  # not JSON, not an object, nested past Python's stack
            lambda_id = None
        if isinstance(lambda_id, str) and _REQUEST_ID.fullmatch(lambda_id):
            return lambda_id
    return uuid.uuid4().hex[:20]


def client_address(headers: dict[bytes, bytes], peer: tuple[str, int] | None) -> str:
    """The client the request log names, as imgproxy's router picks it: ``CF-Connecting-IP``,
    else the first ``X-Forwarded-For`` entry, else ``X-Real-IP``, else the peer.  Only logged:
    nothing decides on it, so a client that forges these headers only misnames itself."""
    for name in (b"cf-connecting-ip", b"x-forwarded-for", b"x-real-ip"):
        value = headers.get(name, b"").decode("latin-1")
        if value:
            return value.split(",", 1)[0].strip() if name == b"x-forwarded-for" else value.strip()
    return peer[0] if peer else ""


def go_duration(seconds: float) -> str:
    """A duration as imgproxy's log writes it (Go's ``time.Duration``): ``850µs``, ``12.3ms``, ``1.5s``."""
    nanoseconds = round(seconds * 1e9)
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if nanoseconds >= size:
            return f"{nanoseconds / size:.6g}{unit}"
    return f"{nanoseconds}ns"


class RequestLogMiddleware:
    """Assigns X-Request-ID, logs each request as imgproxy does ("Started /path", then
    "Completed in 12.3ms /path" with its status) and reports its metrics."""

    def __init__(self, app: ASGIApp, services: Services, server_name: str,
                 silent_paths: Container[str] = frozenset()) -> None:
        self.app = app
        self.services = services
        self.server_header = (b"server", server_name.encode("latin-1", "replace"))
        self.silent_paths = silent_paths  # answered and counted, not logged (health checks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = request_id_of(headers)
        scope.setdefault("state", {})["request_id"] = request_id
        logged = scope.get("path") not in self.silent_paths
        path = (scope.get("raw_path") or scope.get("path", "").encode()).decode("latin-1")[:2048]
        fields = {"request_id": request_id, "method": scope.get("method"),
                  "client_ip": client_address(headers, scope.get("client"))}
        if logged:
            log.info("Started %s", path, extra=fields)
        started = time.perf_counter()
        status = 500
        streaming_started = started
        metrics = self.services.metrics
        if metrics is not None:
            metrics.requests_in_progress += 1

        async def send_with_id(message: Message) -> None:
            nonlocal status, streaming_started
            if message["type"] == "http.response.start":
                status = message["status"]
                streaming_started = time.perf_counter()
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode()), self.server_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if metrics is not None:
                metrics.requests_in_progress -= 1
                metrics.span("streaming_image", time.perf_counter() - streaming_started)
                metrics.request_finished(status, elapsed)
            if logged:  # imgproxy's line and level: a 4xx is a warning, a 5xx an error
                level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
                state = scope.get("state", {})
                error = state.get("error")
                log.log(level, "Completed in %s %s", go_duration(elapsed), path,
                        extra={**fields, "status": status, **({"error": error} if error else {}),
                               **state.get("log_fields", {}), "path": path, "duration_ms": round(elapsed * 1000, 1)})


async def error_response(request: Request, exc: Exception) -> Response:
    # A coroutine, so that it runs in the request's task (Starlette runs a plain function in a
    # thread), where the tracers find the request's span or transaction.
    if isinstance(exc, ResponseAborted):  # a response ended mid-body on purpose, logged already
        return Response(status_code=500)  # never sent: the response had started
    services = getattr(request.app.state, "services", None)
    # As imgproxy, a request whose client left is logged, not counted as an error.
    if services is not None and services.metrics is not None and not isinstance(exc, RequestCancelledError):
        services.metrics.error(exc.category if isinstance(exc, ImgproxyError) else "processing", exc)
    request_id = request.scope.get("state", {}).get("request_id")
    if services is not None and services.error_reporter is not None:
        services.error_reporter.report(exc, request.method, request.url.path, request_id)
    if isinstance(exc, ImgproxyError):
        error_in_request_line(request.scope, exc)
        status, message = exc.status, exc.public_message
    else:
        log.exception("unexpected error", exc_info=exc)
        status, message = 500, "Internal error"
    if services is not None and services.config.error_reporting.development_errors_mode:
        body, media_type = development_error_body(exc, message, "text/html" in request.headers.get("accept", ""))
        return Response(body, status_code=status, media_type=media_type, headers=ERROR_HEADERS)
    return PlainTextResponse(message, status_code=status, headers=ERROR_HEADERS)


class UnexpectedErrorMiddleware:
    """An unexpected exception (a bug) becomes its 500 here, innermost.  Starlette's own last
    resort answers it too but then re-raises to uvicorn, which drops the keep-alive connection
    and the client's next request on it; imgproxy answers a panic with a 500 and the connection
    lives on.  An error after the response started is left to the server (the body is cut)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise
            response = await error_response(Request(scope, receive), exc)
            await response(scope, receive, send)


def response_not_delivered(services: Services, scope: Scope, reason: str) -> None:
    """A response the client did not take whole (the HTTP protocol saw it): logged, and with
    ``IMGPROXY_REPORT_IO_ERRORS`` counted and reported as imgproxy's ``IO`` errors are."""
    request_id = scope.get("state", {}).get("request_id")
    path = (scope.get("raw_path") or scope.get("path", "").encode()).decode("latin-1")[:2048]
    exc = ResponseWriteError(f"failed to write response: {reason}")
    log.warning("%s", exc, extra={"request_id": request_id, "path": path})
    if not services.config.error_reporting.report_io_errors:
        return
    if services.metrics is not None:
        services.metrics.error(exc.category, exc)
    if services.error_reporter is not None:
        services.error_reporter.report(exc, str(scope.get("method", "GET")), path, request_id)


class SilentPaths:
    """imgproxy's silent routes, never logged or traced: the health checks, ``/favicon.ico`` and
    ``/.well-known/*`` (browsers and their developer tools ask for them), under the path prefix
    or not."""

    def __init__(self, config: Config) -> None:
        prefixes = {"", config.server.path_prefix}
        paths = {HEALTH_PATH, config.http.health_check_path, FAVICON_PATH} - {""}
        self.exact = frozenset(prefix + path for prefix in prefixes for path in paths)
        self.trees = tuple(prefix + WELL_KNOWN_PREFIX for prefix in prefixes)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and (path in self.exact or path.startswith(self.trees))


async def not_found(request: Request) -> Response:
    # imgproxy's answer: one space, for the platforms (AWS Lambda) that refuse an empty body.
    return PlainTextResponse(" ", status_code=404)


async def routing_error(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors.  A method with no route on its path (POST, PUT...) is its
    405; imgproxy's router has no such answer: the request falls through to its 404."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return await not_found(request)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def telemetry_middleware(services: Services, silent: SilentPaths) -> list[Middleware]:
    """The OpenTelemetry and DataDog APM request spans and New Relic's transaction, outermost:
    every other part of a request runs inside them."""
    metrics = services.metrics
    if metrics is None:
        return []
    middleware = ([Middleware(TelemetryMiddleware, telemetry=metrics.telemetry, silent_paths=silent)]
                  if metrics.telemetry else [])
    if metrics.datadog_apm is not None:
        middleware.append(Middleware(DatadogMiddleware, tracing=metrics.datadog_apm, silent_paths=silent))
    if metrics.new_relic is not None:
        middleware.append(Middleware(NewRelicMiddleware, tracing=metrics.new_relic, silent_paths=silent))
    return middleware


def create_app(config: Config, services: Services | None = None) -> Starlette:
    services = services or build_services(config)
    cors: dict[str, str] = {}
    if config.server.allow_origin:
        cors = {"Access-Control-Allow-Origin": config.server.allow_origin,
                "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS"}

    http = config.http
    silent = SilentPaths(config)

    async def health(request: Request) -> Response:
        # Never cached (a CDN in front must not answer for a node that went down), as imgproxy's.
        return PlainTextResponse(http.health_check_message, headers={"Cache-Control": "no-cache"})

    async def root(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=200, headers={"Allow": "GET, HEAD, OPTIONS", **cors})
        if not config.server.landing_page:
            return PlainTextResponse("imgproxy_py", headers=cors)
        return HTMLResponse(landing_page(config), headers=cors)

    async def info(request: Request) -> Response:
        return await handle_info(request, services)

    async def thumbnail(request: Request) -> Response:
        return await handle_thumbnail(request, services)

    async def best(request: Request) -> Response:
        return await handle_best_frames(request, services)

    async def image(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=200, headers={"Allow": "GET, HEAD, OPTIONS", **cors})
        routed = await handle_media(request, services)
        if routed is not None:
            return routed
        response = await handle_image(request, services)
        response.headers.update(cors)
        for name, value in http.custom_response_headers:
            response.headers[name] = value
        return response

    app = Starlette(
        routes=[
            Route(HEALTH_PATH, health, methods=["GET", "HEAD"]),
            *([Route(http.health_check_path, health, methods=["GET", "HEAD"])] if http.health_check_path else []),
            Route("/", root, methods=["GET", "HEAD", "OPTIONS"]),
            Route(FAVICON_PATH, not_found, methods=["GET", "HEAD"]),
            Route(WELL_KNOWN_PREFIX + "{path:path}", not_found, methods=["GET", "HEAD"]),
            Route("/info/{path:path}", info, methods=["GET", "HEAD"]),
            *upload_routes(services),
            *face_routes(services),
            Route("/thumbnail/{key}/best.json", best, methods=["GET", "HEAD"]),
            Route("/thumbnail/{key}", thumbnail, methods=["GET", "HEAD"]),
            Route("/{path:path}", image, methods=["GET", "HEAD", "OPTIONS"]),
        ],
        middleware=[*telemetry_middleware(services, silent),
                    Middleware(RequestLogMiddleware, services=services, server_name=http.server_name,
                               silent_paths=silent),
                    *([Middleware(PathPrefixMiddleware, prefix=config.server.path_prefix)]
                      if config.server.path_prefix else []),
                    Middleware(UnexpectedErrorMiddleware)],
        exception_handlers={Exception: error_response, ImgproxyError: error_response, HTTPException: routing_error},
        lifespan=lambda app: lifespan(services),
    )
    app.state.services = services
    return app
