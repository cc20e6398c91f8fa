"""The log's formats and levels, imgproxy's names: ``pretty``, ``structured`` (logfmt), ``json``
and ``gcp``; ``debug``, ``info``, ``warn``, ``error``, in any case; anything else refused at start-up."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest

from imgproxy_py.config import load_config
from imgproxy_py.errors import ConfigError
from imgproxy_py.server.logs import JsonFormatter, PrettyFormatter, StructuredFormatter, formatter_for

ISO_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def record(message: str = "request", level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("imgproxy_py.server", level, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    return made


def test_json_names_level_and_message_as_imgproxy_does() -> None:
    line = JsonFormatter().format(record(status=200, path="/unsafe/x", level=logging.WARNING))
    data = json.loads(line)
    assert re.fullmatch(ISO_TIME, data.pop("time"))
    assert data == {"level": "WARNING", "msg": "request", "status": 200, "path": "/unsafe/x"}


def test_gcp_uses_cloud_loggings_severity_and_message() -> None:
    data = json.loads(JsonFormatter(gcp=True).format(record("boom", logging.ERROR, request_id="abc")))
    assert (data["severity"], data["message"], data["request_id"]) == ("ERROR", "boom", "abc")
    assert "level" not in data and "msg" not in data


def test_structured_is_logfmt_on_one_line() -> None:
    line = StructuredFormatter().format(record('say "hi"\nagain', status=200, path="/a b", client="10.0.0.1"))
    assert "\n" not in line
    match = re.fullmatch(rf'time="({ISO_TIME})" level="INFO" msg="(.*)" status=200 path="/a b" client=10.0.0.1', line)
    assert match and json.loads(f'"{match.group(2)}"') == 'say "hi"\nagain'


def test_structured_names_a_foreign_logger_and_keeps_the_traceback_on_the_line() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        failed = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = StructuredFormatter().format(failed)
    assert "\n" not in line and ' logger=uvicorn.error ' in line
    assert re.search(r'error="Traceback .*ValueError: bad"$', line)


@pytest.mark.parametrize(("log_format", "terminal", "expected"), [
    ("", True, PrettyFormatter), ("", False, StructuredFormatter), ("json", True, JsonFormatter),
    ("gcp", False, JsonFormatter), ("structured", True, StructuredFormatter), ("pretty", False, PrettyFormatter),
])
def test_unset_format_is_imgproxys_default(log_format: str, terminal: bool, expected: type) -> None:
    assert type(formatter_for(log_format, terminal=terminal)) is expected


@pytest.mark.parametrize(("value", "expected"), [("JSON", "json"), ("Gcp", "gcp"), ("structured", "structured"),
                                                 ("PRETTY", "pretty")])
def test_format_is_read_in_any_case(value: str, expected: str) -> None:
    assert load_config({"IMGPROXY_LOG_FORMAT": value}).server.log_format == expected


@pytest.mark.parametrize(("value", "expected"), [("warn", "warning"), ("WARN", "warning"), ("warning", "warning"),
                                                 ("DEBUG", "debug"), ("Error", "error"), ("info", "info")])
def test_level_takes_imgproxys_names(value: str, expected: str) -> None:
    assert load_config({"IMGPROXY_LOG_LEVEL": value}).server.log_level == expected


@pytest.mark.parametrize("env", [{"IMGPROXY_LOG_FORMAT": "xml"}, {"IMGPROXY_LOG_LEVEL": "verbose"},
                                 {"IMGPROXY_SYSLOG_LEVEL": "loud"}])
def test_unknown_format_or_level_stops_start_up(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env)
    assert next(iter(env)) in str(caught.value)


@pytest.mark.parametrize(("value", "expected"), [("warn", logging.WARNING), ("DEBUG", logging.DEBUG),
                                                 ("crit", logging.CRITICAL)])
def test_syslog_level_takes_imgproxys_names(value: str, expected: int) -> None:
    assert load_config({"IMGPROXY_SYSLOG_LEVEL": value}).syslog.level == expected
