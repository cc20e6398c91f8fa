"""The pre-fork supervisor in this process, with trivial children: a child that exits is
replaced, one that can't start stops them all, SIGTERM ends the run cleanly."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgproxy_py.cluster.supervisor import EXIT_CANNOT_START, Supervisor


@pytest.fixture(autouse=True)
def restore_signals() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_child_that_exits_is_replaced_until_sigterm(tmp_path: Path) -> None:
    def child(slot: int) -> int:
        with open(tmp_path / "slots", "a") as started_in:
            started_in.write(f"{slot}\n")
        time.sleep(0.3)
        return 0

    gone: list[int] = []
    supervisor = Supervisor(2, child, child_gone=gone.append)
    timer = threading.Timer(1.8, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    assert supervisor.run() == 0
    timer.join()
    assert supervisor.started >= 3  # the two first, and at least one replacement
    assert supervisor.children == {} and time.monotonic() - started < 10
    # A replacement takes the slot of the child it replaces: never more slots than processes.
    slots = [int(line) for line in (tmp_path / "slots").read_text().split()]
    assert sorted(slots[:2]) == [0, 1] and set(slots) == {0, 1} and len(slots) == supervisor.started
    assert sorted(gone) == sorted(slots)  # every exit reported with its slot


def test_a_child_that_cannot_start_stops_the_run() -> None:
    def child(slot: int) -> int:
        time.sleep(0.2)
        return EXIT_CANNOT_START

    supervisor = Supervisor(2, child)
    assert supervisor.run() == 1
    assert supervisor.started == 2 and supervisor.children == {}


def test_a_child_that_raises_is_replaced_not_fatal() -> None:
    def child(slot: int) -> int:
        raise RuntimeError("boom")

    supervisor = Supervisor(1, child)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    assert supervisor.run() == 0
    timer.join()
    assert supervisor.started >= 2
