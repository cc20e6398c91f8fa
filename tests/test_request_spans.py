"""``metrics.RequestSpanMiddleware``, the part every tracer's request span shares: opened before
the app runs, closed with the status sent (500 when none was), an error that no handler inside
answered put on the span while it is still open, and health checks left out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from imgproxy_py.metrics import RequestSpanMiddleware


class Recorder:
    """A tracer that writes down what it hears, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.open = False

    def span(self, name: str, seconds: float) -> None:
        self.events.append(("span", name))

    def error(self, kind: str, exc: BaseException | None) -> None:
        self.events.append(("error", kind, type(exc).__name__, self.open))

    def shutdown(self) -> None:
        pass


class RecordingMiddleware(RequestSpanMiddleware):
    def __init__(self, app: Any, tracing: Recorder, silent_paths: frozenset[str] = frozenset()) -> None:
        super().__init__(app, tracing, silent_paths)
        self.recorder = tracing

    def start(self, scope: Scope, headers: dict[str, str]) -> Any:
        self.recorder.open = True
        self.recorder.events.append(("start", scope["path"], headers.get("traceparent")))
        return "the span"

    def finish(self, span: Any, status: int) -> None:
        self.recorder.open = False
        self.recorder.events.append(("finish", span, status))


def answers(status: int) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    return app


async def fails(scope: Scope, receive: Receive, send: Send) -> None:
    raise ZeroDivisionError("a bug")


def call(app: Any, path: str = "/unsafe/plain/x") -> tuple[list[tuple[Any, ...]], list[Message]]:
    recorder = Recorder()
    middleware = RecordingMiddleware(app, recorder, silent_paths=frozenset({"/health"}))
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "headers": [(b"traceparent", b"00-abc-def-01")]}
    asyncio.run(middleware(scope, receive, send))
    return recorder.events, sent


def test_the_span_closes_with_the_status_sent() -> None:
    events, sent = call(answers(404))
    assert events == [("start", "/unsafe/plain/x", "00-abc-def-01"), ("finish", "the span", 404)]
    assert sent[0]["status"] == 404


def test_an_error_no_handler_answered_goes_on_the_open_span() -> None:
    """Starlette's outermost handler answers it with a 500 after the span is closed."""
    recorder = Recorder()
    middleware = RecordingMiddleware(fails, recorder)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        pass

    with pytest.raises(ZeroDivisionError):
        asyncio.run(middleware({"type": "http", "path": "/x", "headers": []}, receive, send))
    assert recorder.events == [("start", "/x", None), ("error", "processing", "ZeroDivisionError", True),
                               ("finish", "the span", 500)]


def test_health_checks_get_no_span() -> None:
    events, sent = call(answers(200), path="/health")
    assert events == [] and sent[0]["status"] == 200
