"""Command line: ``imgproxy-py serve`` (and ``sign`` / ``url`` / ``token`` for building URLs)."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import socket
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from imgproxy_py import __version__

if TYPE_CHECKING:
    from imgproxy_py.config import Config
    from imgproxy_py.metrics_processes import PrometheusSlot, SharedPrometheus

log = logging.getLogger("imgproxy_py")

# A request's line and headers may take what imgproxy's Go server allows (MaxHeaderBytes, 1 MiB,
# plus the 4 KiB it adds): uvicorn's h11 stops at 16 KiB received in pieces, which large cookies
# passed through to origins (IMGPROXY_COOKIE_PASSTHROUGH) can exceed.
MAX_REQUEST_HEAD = (1 << 20) + 4096

SERVE_HELP = """\
Runs the server. Every setting is an IMGPROXY_* environment variable with imgproxy's name
and default; the key ones:

  IMGPROXY_BIND                   host:port to listen on (default :8080)
  IMGPROXY_KEY, IMGPROXY_SALT     hex key/salt pairs for URL signatures (unset: unsigned URLs)
  IMGPROXY_LOCAL_FILESYSTEM_ROOT  folder served as local:/// sources
  IMGPROXY_WORKERS                images processed at once (default: 2 x CPU cores)
  IMGPROXY_PRESETS_PATH           a file of name=options presets
  IMGPROXY_LOG_FORMAT             pretty, structured, json or gcp (default: pretty on a terminal,
                                  else structured)

The README's "Settings reference" section lists every setting.
"""

# What --demo sets where the environment does not: the bundled demo images, on loopback.
def demo_environment() -> dict[str, str]:
    from imgproxy_py.resources import demo_dir

    return {
        "IMGPROXY_BIND": "127.0.0.1:8080",
        "IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(demo_dir()),
        "IMGPROXY_ENABLE_VIDEO_THUMBNAILS": "true",
        # The landing page's animation is resized rather than passed through (imgproxy: 1 frame).
        "IMGPROXY_MAX_ANIMATION_FRAMES": "100",
        # So that the README's examples of msr, msfs, maf, mafr, mrd and bc work on the demo.
        "IMGPROXY_ALLOW_SECURITY_OPTIONS": "true",
        "IMGPROXY_ALLOW_BYPASS_CACHE": "true",
    }


def serve(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    from imgproxy_py.config import read_config
    from imgproxy_py.server.logs import setup_logging

    env = dict(os.environ if environ is None else environ)
    if args.demo:
        env = {**demo_environment(), **env}
    config, problems = read_config(env)
    setup_logging(config)
    if config.processes == 1 or problems:
        return _serve_process(config, None, problems)
    from imgproxy_py.settings_check import settings_warnings

    for warning in settings_warnings(config.settings_given, config.settings_read):
        log.warning("%s", warning)
    # Several processes: bind once here, then each child builds its own services on the
    # shared socket (nothing heavy is loaded before the fork).
    from imgproxy_py.cluster.supervisor import EXIT_CANNOT_START, Supervisor
    from imgproxy_py.server.listen import ConnectionTable, one_accept_per_turn

    sock = _bind(config)
    if sock is None:
        return 1
    table = ConnectionTable(config.processes)  # before the fork: the children share it
    prometheus = _shared_prometheus(config)
    if prometheus is False:
        return 1

    def child(slot: int) -> int:
        listening = one_accept_per_turn(sock, table, slot)
        code = _serve_process(config, listening, [], prometheus.for_slot(slot) if prometheus else None)
        return EXIT_CANNOT_START if code == 1 else code

    def child_gone(slot: int) -> None:
        table.gone(slot)
        if prometheus:
            prometheus.slot_gone(slot)

    try:
        return Supervisor(config.processes, child, child_gone=child_gone, stop_listening=sock.close).run()
    finally:
        if prometheus:
            prometheus.close()


def _shared_prometheus(config: Config) -> SharedPrometheus | Literal[False] | None:
    """With IMGPROXY_PROMETHEUS_BIND, one endpoint for every process, bound here before the
    fork (False: it can't be)."""
    from imgproxy_py.metrics_processes import MULTIPROC_DIR_ENV, SharedPrometheus

    bind = config.metrics.prometheus_bind
    if not bind:
        return None
    try:
        shared = SharedPrometheus.prepare(config.metrics.prometheus_address)
        os.environ[MULTIPROC_DIR_ENV] = shared.folder  # where prometheus_client looks, in every child
        return shared
    except OSError as exc:
        print(f"imgproxy-py: cannot listen on {bind} (IMGPROXY_PROMETHEUS_BIND): {exc.strerror or exc}",
              file=sys.stderr)
        return False


def _invalid(problems: list[str]) -> int:
    # Every problem at once, so a deploy is fixed in one go.
    print("imgproxy-py: invalid configuration:\n  " + "\n  ".join(problems), file=sys.stderr)
    return 1


def _bind(config: Config) -> socket.socket | None:
    from imgproxy_py.server.listen import listen

    address = config.server.listen
    try:
        return listen(address, reuse_port=config.http.so_reuseport)
    except OSError as exc:
        print(f"imgproxy-py: cannot listen on {address.where}: {exc.strerror or exc}", file=sys.stderr)
        return None


def _serve_process(config: Config, sock: socket.socket | None, problems: list[str],
                   prometheus_slot: PrometheusSlot | None = None) -> int:
    """One server process: build the services, then serve on ``sock`` (bound here if None);
    ``problems``: the settings' own, reported with the services' in one list."""
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    from imgproxy_py.errors import ConfigError
    from imgproxy_py.server.app import create_app, response_not_delivered
    from imgproxy_py.server.composition import build_services
    from imgproxy_py.server.http_protocol import server_protocol
    from imgproxy_py.settings_check import settings_warnings

    try:
        services = build_services(config, prometheus_slot)
    except ConfigError as exc:
        problems = problems + exc.problems
    if problems:
        return _invalid(problems)
    if sock is None:
        for warning in settings_warnings(config.settings_given, config.settings_read):
            log.warning("%s", warning)
        sock = _bind(config)
        if sock is None:
            return 1
    app = create_app(config, services)
    if not config.security.signing_enabled:
        log.warning("IMGPROXY_KEY is not set: unsigned URLs are accepted. Set IMGPROXY_KEY and "
                    "IMGPROXY_SALT in production.")
    protocol = server_protocol(AutoHTTPProtocol, config.http.read_request_timeout, config.http.write_response_timeout,
                               on_undelivered=functools.partial(response_not_delivered, services))
    server = uvicorn.Server(uvicorn.Config(
        app, http=protocol, log_config=None, access_log=False,
        timeout_graceful_shutdown=int(config.server.graceful_stop_timeout),
        limit_concurrency=config.server.max_clients or None, server_header=False,
        timeout_keep_alive=config.http.keep_alive_timeout, h11_max_incomplete_event_size=MAX_REQUEST_HEAD))
    server.run(sockets=[sock])
    return 0


def health(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    """imgproxy's ``health`` command: 0 when this host's server answers its health check."""
    import httpx

    from imgproxy_py.env_sources import load_env_sources
    from imgproxy_py.server.listen import parse_listen_address

    env, _ = load_env_sources(os.environ if environ is None else environ, remote=False)
    address, problems = parse_listen_address(env.get("IMGPROXY_NETWORK", "tcp"), env.get("IMGPROXY_BIND", ":8080"))
    if problems:
        return _invalid(problems)
    transport = httpx.HTTPTransport(uds=address.path) if address.network == "unix" else None
    url = address.local_base_url() + "/health"  # answered at the root, whatever the path prefix
    try:
        # This host's own server: never through HTTP_PROXY (httpx would send loopback to it).
        with httpx.Client(transport=transport, timeout=args.timeout, trust_env=False) as client:
            status = client.get(url).status_code
    except httpx.HTTPError as exc:
        print(f"imgproxy-py health: {address.where}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"imgproxy-py health: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


def token(args: argparse.Namespace) -> int:
    from imgproxy_py.media.tokens import TokenAuthority

    secret = args.secret or os.environ.get("IMGPROXY_MEDIA_TOKEN_SECRET", "")
    if not secret:
        print("imgproxy-py token: set IMGPROXY_MEDIA_TOKEN_SECRET or pass --secret", file=sys.stderr)
        return 2
    print(TokenAuthority(secret).mint(args.hash or ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgproxy-py", description="imgproxy-compatible image server")
    parser.add_argument("--version", action="version", version=f"imgproxy-py {__version__}")
    sub = parser.add_subparsers(dest="command")
    serve_cmd = sub.add_parser("serve", help="run the server (settings from IMGPROXY_* variables)",
                               description=SERVE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    serve_cmd.add_argument("--demo", action="store_true",
                           help="serve the bundled demo images on 127.0.0.1:8080 (what `make run` does); "
                                "IMGPROXY_* variables still win")
    serve_cmd.set_defaults(func=serve)
    health_cmd = sub.add_parser("health", help="exit 0 when the server on IMGPROXY_BIND answers /health (for "
                                               "Docker's HEALTHCHECK and compose health checks)")
    health_cmd.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    health_cmd.set_defaults(func=health)
    token_cmd = sub.add_parser("token", help="mint a bearer token for the media routes")
    token_cmd.add_argument("--hash", help="scope the token to one media <hash>")
    token_cmd.add_argument("--secret", help="default: IMGPROXY_MEDIA_TOKEN_SECRET")
    token_cmd.set_defaults(func=token)
    from imgproxy_py.url import cli as url_cli

    url_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
