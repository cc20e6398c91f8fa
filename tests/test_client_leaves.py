"""The parts that stop a request whose client left (``server.disconnect``): the cancelled deadline,
the watcher of the connection, the worker slot held until its thread ends, and the single flight
that another caller takes over."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from imgproxy_py.cache import SingleFlight
from imgproxy_py.deadline import Deadline
from imgproxy_py.errors import DeadlineExceededError, RequestCancelledError
from imgproxy_py.server.disconnect import stopped_when_client_leaves
from imgproxy_py.server.workers import WorkerPool


def test_a_cancelled_deadline_fails_its_next_check_with_499() -> None:
    deadline = Deadline.after(60)
    deadline.check()
    deadline.cancel()
    with pytest.raises(RequestCancelledError) as caught:
        deadline.check()
    assert (caught.value.status, caught.value.public_message) == (499, "Cancelled")
    # Cancelled and out of time: the client that left is what the log tells.
    expired = Deadline.after(-1)
    with pytest.raises(DeadlineExceededError):
        expired.check()
    expired.cancel()
    with pytest.raises(RequestCancelledError):
        expired.check()


def test_stoppers_run_on_cancel_only_within_their_block() -> None:
    deadline = Deadline.after(60)
    calls: list[str] = []
    with deadline.stopped_by(lambda: calls.append("inside")):
        assert calls == []
        deadline.cancel()
        assert calls == ["inside"]
    deadline.cancel()  # the block is over: not called again
    assert calls == ["inside"]
    with deadline.stopped_by(lambda: calls.append("late")):  # already cancelled: stopped at once
        assert calls == ["inside", "late"]


def test_a_stop_never_comes_after_its_block_has_ended() -> None:
    """A cancel() on another thread that is still calling an earlier stopper when a block ends
    either stops that block before it ends or not at all (the RAW worker, shared between
    requests, must not be killed once its decode for this request is over)."""
    deadline = Deadline.after(60)
    ended = threading.Event()
    late: list[bool] = []
    with deadline.stopped_by(lambda: time.sleep(0.2)):  # a slow stopper, called first
        with deadline.stopped_by(lambda: late.append(ended.is_set())):
            canceller = threading.Thread(target=deadline.cancel)
            canceller.start()
            time.sleep(0.05)  # cancel() is in the slow stopper; this block now ends
        ended.set()
    canceller.join()
    assert late in ([], [False])


class Connection:
    """An ASGI ``receive`` of a GET: the request, then nothing until the client leaves."""

    def __init__(self) -> None:
        self.closed = asyncio.Event()
        self.sent_request = False

    async def receive(self) -> dict[str, object]:
        if not self.sent_request:
            self.sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.closed.wait()
        return {"type": "http.disconnect"}


def test_the_block_stops_when_the_client_leaves() -> None:
    async def scenario() -> tuple[float, bool, int]:
        connection, deadline = Connection(), Deadline.after(60)
        asyncio.get_running_loop().call_later(0.05, connection.closed.set)
        started = time.monotonic()
        with pytest.raises(RequestCancelledError):
            async with stopped_when_client_leaves(connection.receive, deadline):
                await asyncio.sleep(30)
        elapsed = time.monotonic() - started
        await asyncio.sleep(0)  # the task is not left with a cancellation pending
        task = asyncio.current_task()
        assert task is not None
        return elapsed, deadline.cancelled, task.cancelling()

    elapsed, cancelled, cancelling = asyncio.run(scenario())
    assert elapsed < 5 and cancelled and cancelling == 0


def test_a_block_that_ends_first_is_left_alone() -> None:
    async def scenario() -> tuple[str, bool]:
        connection, deadline = Connection(), Deadline.after(60)
        async with stopped_when_client_leaves(connection.receive, deadline):
            await asyncio.sleep(0.01)
            value = "done"
        connection.closed.set()  # after the block: nobody is told
        await asyncio.sleep(0.05)
        return value, deadline.cancelled

    assert asyncio.run(scenario()) == ("done", False)


def test_the_servers_own_cancellation_passes_through() -> None:
    async def scenario() -> None:
        async def request() -> None:
            async with stopped_when_client_leaves(Connection().receive, Deadline.after(60)):
                await asyncio.sleep(30)

        task = asyncio.create_task(request())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_a_cancelled_slot_holder_keeps_its_slot_until_its_thread_ends() -> None:
    release = threading.Event()

    async def scenario() -> list[int]:
        pool = WorkerPool(1, 0)

        async def request() -> None:
            async with pool.slot(Deadline.after(60)):
                await pool.execute(release.wait, 30)

        task = asyncio.create_task(request())
        while pool.running == 0:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.sleep(0.2)
        seen = [pool.active, pool.running]  # the thread still runs: the slot is still taken
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        pool.shutdown()
        return [*seen, pool.active, pool.running]

    try:
        assert asyncio.run(scenario()) == [1, 1, 0, 0]
    finally:
        release.set()


@pytest.mark.parametrize("leader_ends_with", ["task cancelled", "RequestCancelledError"])
def test_a_waiting_caller_takes_over_from_a_leader_whose_client_left(leader_ends_with: str) -> None:
    async def scenario() -> tuple[str, int]:
        flight: SingleFlight[str, str] = SingleFlight()
        runs = 0
        started = asyncio.Event()

        async def compute() -> str:
            nonlocal runs
            runs += 1
            started.set()
            if runs == 1 and leader_ends_with == "RequestCancelledError":
                await asyncio.sleep(0.05)
                raise RequestCancelledError("the client closed the connection")
            await asyncio.sleep(0.05 if runs > 1 else 30)
            return f"run {runs}"

        leader = asyncio.create_task(flight.run("k", compute))
        await started.wait()
        follower = asyncio.create_task(flight.run("k", compute))
        await asyncio.sleep(0.01)
        if leader_ends_with == "task cancelled":
            leader.cancel()
        with pytest.raises((asyncio.CancelledError, RequestCancelledError)):
            await leader
        return await follower, runs

    assert asyncio.run(scenario()) == ("run 2", 2)


def test_a_waiting_callers_own_cancellation_is_not_a_take_over() -> None:
    async def scenario() -> bool:
        flight: SingleFlight[str, str] = SingleFlight()

        async def compute() -> str:
            await asyncio.sleep(0.2)
            return "value"

        leader = asyncio.create_task(flight.run("k", compute))
        await asyncio.sleep(0.01)
        follower = asyncio.create_task(flight.run("k", compute))
        await asyncio.sleep(0.01)
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower
        return await leader == "value"

    assert asyncio.run(scenario())


def test_an_error_of_the_computation_reaches_every_caller() -> None:
    async def scenario() -> list[str]:
        flight: SingleFlight[str, str] = SingleFlight()

        async def compute() -> str:
            await asyncio.sleep(0.05)
            raise DeadlineExceededError("too slow")

        results = await asyncio.gather(flight.run("k", compute), flight.run("k", compute), return_exceptions=True)
        return [type(r).__name__ for r in results]

    assert asyncio.run(scenario()) == ["DeadlineExceededError", "DeadlineExceededError"]
