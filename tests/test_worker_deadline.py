"""``server.workers.WorkerPool`` and the request's deadline: the blocking job sees it as
``REQUEST_DEADLINE`` (what an inference deep in a detector stops by), and a job that fails once
the deadline has passed, or its client has left, is answered with the deadline's error."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from imgproxy_py.deadline import REQUEST_DEADLINE, Deadline
from imgproxy_py.errors import DeadlineExceededError, RequestCancelledError, UnprocessableImageError
from imgproxy_py.server.checks import LONG_PATH, parse_off_the_loop_when_long
from imgproxy_py.server.workers import WorkerPool

T = TypeVar("T")


def in_pool(run: Callable[[WorkerPool], T]) -> T:
    pool = WorkerPool(2, 0)
    try:
        return run(pool)
    finally:
        pool.shutdown()


def test_the_job_sees_its_requests_deadline() -> None:
    deadline = Deadline.after(60)

    async def scenario(pool: WorkerPool) -> list[Deadline | None]:
        return [await pool.run(deadline, REQUEST_DEADLINE.get),
                await pool.execute(REQUEST_DEADLINE.get),  # no deadline given: none seen
                REQUEST_DEADLINE.get()]  # and the caller's own context is left as it was

    assert in_pool(lambda pool: asyncio.run(scenario(pool))) == [deadline, None, None]


def _fails_after(seconds: float) -> None:
    time.sleep(seconds)
    raise UnprocessableImageError("libvips: killed")  # what a stopped computation reports


@pytest.mark.parametrize(("seconds", "expected"), [
    (60, UnprocessableImageError),  # in time: the job's own error
    (0.05, DeadlineExceededError),  # past its deadline: 503
])
def test_a_job_failing_past_its_deadline_is_the_deadlines_error(seconds: float, expected: type) -> None:
    async def scenario(pool: WorkerPool) -> None:
        await pool.run(Deadline.after(seconds), _fails_after, 0.1)

    with pytest.raises(expected):
        in_pool(lambda pool: asyncio.run(scenario(pool)))


def test_a_job_failing_after_its_client_left_is_a_499() -> None:
    deadline = Deadline.after(60)

    async def scenario(pool: WorkerPool) -> None:
        asyncio.get_running_loop().call_later(0.02, deadline.cancel)
        await pool.run(deadline, _fails_after, 0.1)

    with pytest.raises(RequestCancelledError):
        in_pool(lambda pool: asyncio.run(scenario(pool)))


def test_a_long_path_is_parsed_in_a_worker_slot() -> None:
    """A URL past LONG_PATH is parsed in the pool (a slot taken, its time not reported as image
    processing), so its parsing can't hold the event loop; a page's URL is parsed at once."""
    spans: list[str] = []
    pool = WorkerPool(1, 0, on_span=lambda name, _: spans.append(name))

    def where(tag: str) -> tuple[str, str, int]:
        return tag, threading.current_thread().name.split("_")[0], pool.active

    async def scenario() -> list[tuple[str, str, int]]:
        deadline = Deadline.after(60)
        return [await parse_off_the_loop_when_long(pool, deadline, "/" * LONG_PATH, where, "short"),
                await parse_off_the_loop_when_long(pool, deadline, "/" * (LONG_PATH + 1), where, "long")]

    try:
        assert asyncio.run(scenario()) == [("short", "MainThread", 0), ("long", "imgproxy-worker", 1)]
    finally:
        pool.shutdown()
    assert spans == ["queue"]
