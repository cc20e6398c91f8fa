"""Log formats, imgproxy's four: ``pretty`` for terminals, ``structured`` (logfmt: ``key=value``
pairs), ``json`` (one object a line) and ``gcp`` (JSON with Google Cloud Logging's ``severity`` and
``message``).  The level is written as imgproxy writes it (``INFO``, ``WARNING``...)."""

from __future__ import annotations

import datetime
import json
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

from imgproxy_py.config import Config
from imgproxy_py.errors import ResponseAborted
from imgproxy_py.server.syslog_config import syslog_handler

_SKIP = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def iso_time(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC with milliseconds: what log pipelines parse without configuration."""
    moment = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def level_name(record: logging.LogRecord) -> str:
    """imgproxy's (and Google Cloud Logging's) names: DEBUG, INFO, WARNING, ERROR, CRITICAL."""
    return record.levelname if record.levelname != "WARN" else "WARNING"


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's own fields (``extra=``), then its logger when not ours."""
    data = {k: v for k, v in record.__dict__.items() if k not in _SKIP}
    if not record.name.startswith("imgproxy_py"):
        data["logger"] = record.name
    return data


class JsonFormatter(logging.Formatter):
    """One JSON object a line, tracebacks included (as the ``error`` field).  ``gcp``: the level
    and message under Google Cloud Logging's names, so that it reads them as severity and text."""

    def __init__(self, *, gcp: bool = False) -> None:
        super().__init__()
        self.level_key, self.message_key = ("severity", "message") if gcp else ("level", "msg")

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"time": iso_time(record), self.level_key: level_name(record),
                                self.message_key: record.getMessage(), **fields(record)}
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)  # escapes newlines: one line whatever the message


class StructuredFormatter(logging.Formatter):
    """logfmt, as imgproxy's ``structured``: ``time="..." level="INFO" msg="..." key=value``, the
    time, level and message always quoted, other values when they need it; one line a record."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"time={_quoted(iso_time(record))}", f"level={_quoted(level_name(record))}",
                 f"msg={_quoted(record.getMessage())}"]
        parts += [f"{key}={_logfmt_value(value)}" for key, value in fields(record).items()]
        if record.exc_info:
            parts.append(f"error={_quoted(self.formatException(record.exc_info))}")
        return " ".join(parts)


def _quoted(text: str) -> str:
    return json.dumps(text)  # a JSON string: quotes, backslashes and newlines escaped


def _logfmt_value(value: object) -> str:
    text = str(value)
    if text and not any(c in text for c in ' ="\\') and text.isprintable():
        return text
    return _quoted(text)


class PrettyFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in fields(record).items())
        line = f"{iso_time(record)} {level_name(record):<7} {record.getMessage()}"
        if extra:
            line += " " + extra
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def formatter_for(log_format: str, *, terminal: bool) -> logging.Formatter:
    """The ``IMGPROXY_LOG_FORMAT`` formatter; unset, imgproxy's default: pretty on a terminal,
    else structured."""
    chosen = log_format or ("pretty" if terminal else "structured")
    if chosen in ("json", "gcp"):
        return JsonFormatter(gcp=chosen == "gcp")
    return StructuredFormatter() if chosen == "structured" else PrettyFormatter()


def setup_logging(config: Config) -> None:
    """Our handler on the root logger, so uvicorn's and libraries' records (a failed bind, a
    traceback) come out in the same format, one JSON line each in JSON mode."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(config.server.log_format, terminal=sys.stderr.isatty()))
    level = logging.getLevelName(config.server.log_level.upper())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    if config.syslog.enabled:
        try:
            to_syslog = syslog_handler(config.syslog)
        except OSError as exc:  # a syslog server that refuses a stream connection: say so, serve on
            logging.getLogger("imgproxy_py").warning("syslog is not reachable: %s", exc)
        else:
            to_syslog.setFormatter(PrettyFormatter())
            root.addHandler(to_syslog)
    # Libraries speak at WARNING and above (httpx would log every source request at INFO).
    root.setLevel(max(level, logging.WARNING))
    for logger_name in ("imgproxy_py", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(logger_name)
        logger.handlers[:] = []
        logger.propagate = True
        logger.setLevel(level)
    uvicorn_errors = logging.getLogger("uvicorn.error")
    uvicorn_errors.filters[:] = [already_logged]
    logging.captureWarnings(True)


def already_logged(record: logging.LogRecord) -> bool:
    """Drops uvicorn's traceback of a response ended on purpose after it began (a ``raw`` stream
    its origin cut): the request's own line has logged why, as imgproxy logs it."""
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, ResponseAborted)


def error_in_request_line(scope: MutableMapping[str, Any], exc: Exception) -> None:
    """``exc`` goes in the request's "Completed" line, as imgproxy logs it (its ``error`` field)."""
    scope.setdefault("state", {})["error"] = f"{type(exc).__name__}: {exc}"
