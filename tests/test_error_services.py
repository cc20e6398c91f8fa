"""Error reports to Bugsnag, Honeybadger and Airbrake (IMGPROXY_BUGSNAG_*, IMGPROXY_HONEYBADGER_*,
IMGPROXY_AIRBRAKE_*): each service's real SDK in a real server process, sending to a listener on
loopback that speaks the service's notify API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers import Origin
from tests.test_error_reporting import ReportListener, serve_and_stop


@pytest.fixture()
def listener() -> Iterator[ReportListener]:
    server = ReportListener()
    yield server
    server.close()


def reported(listener: ReportListener, origin: Origin, **settings: str) -> list[tuple[str, dict[str, str], Any]]:
    broken = origin.add(f"/reporting/{len(origin.routes)}.jpg", b"oops", status=500)
    statuses = serve_and_stop([f"/unsafe/w:10/plain/{broken}", "/unsafe/not-a-valid-url"], **settings)
    assert statuses == [502, 404]
    # Sent before the server's exit; the bad URL (the client's error) not at all.
    return [(path, headers, json.loads(body)) for path, headers, body in listener.posts]


def test_bugsnag(listener: ReportListener, origin: Origin) -> None:
    (notice,) = reported(listener, origin, IMGPROXY_BUGSNAG_KEY="a" * 32, IMGPROXY_BUGSNAG_STAGE="staging",
                         IMGPROXY_BUGSNAG_ENDPOINT=listener.url)
    _, headers, body = notice
    assert headers["Bugsnag-Api-Key"] == "a" * 32
    (event,) = body["events"]
    assert event["exceptions"][0]["errorClass"].endswith("OriginStatusError")
    assert event["releaseStage"] == "staging"
    assert event["metaData"]["request"]["path"].startswith("/unsafe/w:10/plain/")


def test_honeybadger(listener: ReportListener, origin: Origin) -> None:
    (notice,) = reported(listener, origin, IMGPROXY_HONEYBADGER_KEY="hb-key", IMGPROXY_HONEYBADGER_ENV="staging",
                         IMGPROXY_HONEYBADGER_ENDPOINT=listener.url)
    path, headers, body = notice
    assert path.rstrip("/") == "/v1/notices" and headers["X-Api-Key"] == "hb-key"
    assert body["error"]["class"] == "OriginStatusError"
    assert body["server"]["environment_name"] == "staging"
    assert body["request"]["context"]["path"].startswith("/unsafe/w:10/plain/")


def test_airbrake(listener: ReportListener, origin: Origin) -> None:
    (notice,) = reported(listener, origin, IMGPROXY_AIRBRAKE_PROJECT_ID="42", IMGPROXY_AIRBRAKE_PROJECT_KEY="ab-key",
                         IMGPROXY_AIRBRAKE_ENVIRONMENT="staging", IMGPROXY_AIRBRAKE_HOST=listener.url)
    path, headers, body = notice
    assert path == "/api/v3/projects/42/notices" and headers["Authorization"] == "Bearer ab-key"
    assert body["errors"][0]["type"] == "OriginStatusError"
    assert body["context"]["environment"] == "staging"
    assert body["params"]["request"]["path"].startswith("/unsafe/w:10/plain/")
