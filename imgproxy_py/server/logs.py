"""Log formats: ``pretty`` for terminals, ``json`` (one object a line) for log pipelines."""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from imgproxy_py.config import Config
from imgproxy_py.server.syslog_config import syslog_handler


def iso_time(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC with milliseconds: what log pipelines parse without configuration."""
    moment = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line, tracebacks included (as the ``error`` field)."""

    _SKIP = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"time": iso_time(record), "level": record.levelname.lower(),
                                "msg": record.getMessage()}
        if not record.name.startswith("imgproxy_py"):
            data["logger"] = record.name
        data.update({k: v for k, v in record.__dict__.items() if k not in self._SKIP})
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)  # escapes newlines: one line whatever the message


class PrettyFormatter(logging.Formatter):
    _SKIP = JsonFormatter._SKIP

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in record.__dict__.items() if k not in self._SKIP)
        line = f"{iso_time(record)} {record.levelname:<7} {record.getMessage()}"
        if extra:
            line += " " + extra
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(config: Config) -> None:
    """Our handler on the root logger, so uvicorn's and libraries' records (a failed bind, a
    traceback) come out in the same format, one JSON line each in JSON mode."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if config.server.log_format in ("json", "structured")
                         else PrettyFormatter())
    name = config.server.log_level.upper()
    level = logging.getLevelName(name) if name in ("DEBUG", "INFO", "WARNING", "ERROR") else logging.INFO
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
    logging.captureWarnings(True)
