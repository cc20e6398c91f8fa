"""Error reporting to Sentry (``IMGPROXY_SENTRY_*``), Bugsnag, Honeybadger and Airbrake
(``server/error_services.py``), with imgproxy's rule of what is reported, and the detailed error
answers of ``IMGPROXY_DEVELOPMENT_ERRORS_MODE``.

Unexpected failures and server-side errors (5xx) are reported; a source that could not be
downloaded only with ``IMGPROXY_REPORT_DOWNLOADING_ERRORS`` (on by default, as imgproxy); a bad
URL, a bad signature or an unprocessable image (the client's side) never.  The SDK is started
only when a DSN is set, without its automatic integrations (the one error handler reports), and
sends from its own thread, so a report costs a request no network wait.
"""

from __future__ import annotations

import html
import logging
import traceback
from dataclasses import dataclass, field
from typing import Any

from imgproxy_py import __version__
from imgproxy_py.envreader import EnvReader
from imgproxy_py.errors import DOWNLOAD_ERRORS, ConfigError, ImgproxyError, ResponseWriteError
from imgproxy_py.server.error_services import Airbrake, Bugsnag, ErrorService, Honeybadger

log = logging.getLogger("imgproxy_py.server")


@dataclass(frozen=True)
class ErrorReportingConfig:
    sentry_dsn: str = field(default="", repr=False)
    sentry_environment: str = "production"
    sentry_release: str = f"imgproxy_py@{__version__}"
    report_downloading_errors: bool = True
    report_io_errors: bool = False  # responses the client did not take whole
    bugsnag_key: str = field(default="", repr=False)
    bugsnag_stage: str = "production"
    bugsnag_endpoint: str = ""
    honeybadger_key: str = field(default="", repr=False)
    honeybadger_env: str = "production"
    honeybadger_endpoint: str = ""
    airbrake_project_id: int = 0
    airbrake_project_key: str = field(default="", repr=False)
    airbrake_environment: str = "production"
    airbrake_host: str = ""
    # Answers carry the error's detail and traceback instead of the short public message.
    development_errors_mode: bool = False

    @staticmethod
    def from_env(r: EnvReader) -> ErrorReportingConfig:
        return ErrorReportingConfig(
            sentry_dsn=r.string("IMGPROXY_SENTRY_DSN"),
            sentry_environment=r.string("IMGPROXY_SENTRY_ENVIRONMENT", "production"),
            sentry_release=r.string("IMGPROXY_SENTRY_RELEASE", f"imgproxy_py@{__version__}"),
            report_downloading_errors=r.boolean("IMGPROXY_REPORT_DOWNLOADING_ERRORS", True),
            report_io_errors=r.boolean("IMGPROXY_REPORT_IO_ERRORS", False),
            development_errors_mode=r.boolean("IMGPROXY_DEVELOPMENT_ERRORS_MODE", False),
            bugsnag_key=r.string("IMGPROXY_BUGSNAG_KEY"),
            bugsnag_stage=r.string("IMGPROXY_BUGSNAG_STAGE", "production"),
            bugsnag_endpoint=r.string("IMGPROXY_BUGSNAG_ENDPOINT"),
            honeybadger_key=r.string("IMGPROXY_HONEYBADGER_KEY"),
            honeybadger_env=r.string("IMGPROXY_HONEYBADGER_ENV", "production"),
            honeybadger_endpoint=r.string("IMGPROXY_HONEYBADGER_ENDPOINT"),
            airbrake_project_id=r.integer("IMGPROXY_AIRBRAKE_PROJECT_ID", 0, minimum=0),
            airbrake_project_key=r.string("IMGPROXY_AIRBRAKE_PROJECT_KEY"),
            airbrake_environment=r.string("IMGPROXY_AIRBRAKE_ENVIRONMENT", "production"),
            airbrake_host=r.string("IMGPROXY_AIRBRAKE_HOST"),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.sentry_dsn or self.bugsnag_key or self.honeybadger_key or
                    (self.airbrake_project_id and self.airbrake_project_key))


def development_error_body(exc: Exception, public_message: str, wants_html: bool) -> tuple[str, str]:
    """``IMGPROXY_DEVELOPMENT_ERRORS_MODE``'s answer: the public message, the error's own text
    and its traceback, as an HTML page for a browser, else as plain text; (body, media type)."""
    detail = "".join(traceback.format_exception(exc))
    if not wants_html:
        return f"{public_message}\n\n{detail}", "text/plain"
    return (f"<!doctype html><meta charset=utf-8><title>{html.escape(public_message)}</title>"
            f"<h1>{html.escape(public_message)}</h1><pre>{html.escape(detail)}</pre>"), "text/html"


def should_report(exc: Exception, report_downloading_errors: bool, report_io_errors: bool = False) -> bool:
    if not isinstance(exc, ImgproxyError):
        return True
    if isinstance(exc, DOWNLOAD_ERRORS):
        return report_downloading_errors
    if isinstance(exc, ResponseWriteError):
        return report_io_errors
    return exc.status >= 500


class ErrorReporter:
    """Sends the errors :func:`should_report` picks to every configured service (built only when
    one is configured)."""

    def __init__(self, config: ErrorReportingConfig) -> None:
        self.config = config
        self._sdk: Any = None
        if config.sentry_dsn:
            import sentry_sdk
            from sentry_sdk.utils import BadDsn

            try:
                sentry_sdk.init(dsn=config.sentry_dsn, environment=config.sentry_environment,
                                release=config.sentry_release, default_integrations=False,
                                auto_enabling_integrations=False, send_default_pii=False)
            except BadDsn as exc:
                raise ConfigError([f"IMGPROXY_SENTRY_DSN: not a Sentry DSN ({exc})"]) from None
            self._sdk = sentry_sdk
        self.services: list[ErrorService] = []
        if config.bugsnag_key:
            self.services.append(Bugsnag(config.bugsnag_key, config.bugsnag_stage, config.bugsnag_endpoint))
        if config.honeybadger_key:
            self.services.append(Honeybadger(config.honeybadger_key, config.honeybadger_env,
                                             config.honeybadger_endpoint))
        if config.airbrake_project_id and config.airbrake_project_key:
            self.services.append(Airbrake(config.airbrake_project_id, config.airbrake_project_key,
                                          config.airbrake_environment, config.airbrake_host))

    def report(self, exc: Exception, method: str, path: str, request_id: str | None) -> None:
        if not should_report(exc, self.config.report_downloading_errors, self.config.report_io_errors):
            return
        context = {"method": method, "path": path[:2048], "request_id": request_id or ""}
        try:
            if self._sdk is not None:
                with self._sdk.new_scope() as scope:
                    scope.set_tag("request_id", request_id or "")
                    scope.set_context("request", {"method": method, "path": path[:2048]})
                    scope.capture_exception(exc)
            for service in self.services:
                service.send(exc, context)
        except Exception:  # a reporting failure must not change the answer
            log.warning("error report failed", exc_info=True)

    def close(self) -> None:
        """What is queued is sent before the process exits."""
        if self._sdk is not None:
            self._sdk.get_client().close(timeout=2.0)
        for service in self.services:
            try:
                service.close()
            except Exception:
                log.warning("error reporter did not close cleanly", exc_info=True)
