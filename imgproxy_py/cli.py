"""Command line: ``imgproxy-py serve`` (and ``sign`` / ``url`` for building URLs)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

log = logging.getLogger("imgproxy_py")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from imgproxy_py.config import read_config
    from imgproxy_py.errors import ConfigError
    from imgproxy_py.server.app import create_app, setup_logging
    from imgproxy_py.server.services import build_services

    config, problems = read_config()
    setup_logging(config)
    try:
        services = build_services(config)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        # Every problem at once, so a deploy is fixed in one go.
        print("imgproxy-py: invalid configuration:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    app = create_app(config, services)
    if not config.security.signing_enabled:
        log.warning("IMGPROXY_KEY is not set: unsigned URLs are accepted. Set IMGPROXY_KEY and "
                    "IMGPROXY_SALT in production.")
    uvicorn.run(app, host=config.server.host, port=config.server.port, log_config=None,
                access_log=False, timeout_graceful_shutdown=int(config.server.graceful_stop_timeout),
                limit_concurrency=config.server.max_clients or None, server_header=False)
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
    sub = parser.add_subparsers(dest="command")
    serve_cmd = sub.add_parser("serve", help="run the server (settings from IMGPROXY_* variables)")
    serve_cmd.set_defaults(func=serve)
    token_cmd = sub.add_parser("token", help="mint a bearer token for the media routes")
    token_cmd.add_argument("--hash", help="scope the token to one media <hash>")
    token_cmd.add_argument("--secret", help="default: IMGPROXY_MEDIA_TOKEN_SECRET")
    token_cmd.set_defaults(func=token)
    from imgproxy_py import cli_urls

    cli_urls.register(sub)
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
