"""The pre-fork supervisor in this process, with trivial children: a child that exits is
replaced, one that can't start stops them all, SIGTERM ends the run cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


def signal_after_starts(supervisor: Supervisor, starts: int, sig: signal.Signals) -> threading.Thread:
    """Sends ``sig`` to this process once ``supervisor`` has started ``starts`` children (at most
    30 s from now): a fixed timer fired too soon where forking this large test process on a
    loaded machine is slow, and the replacement had not come yet."""
    def watch() -> None:
        deadline = time.monotonic() + 30
        while supervisor.started < starts and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        os.kill(os.getpid(), sig)

    watcher = threading.Thread(target=watch)
    watcher.start()
    return watcher


def test_a_child_that_exits_is_replaced_until_sigterm(tmp_path: Path) -> None:
    def child(slot: int) -> int:
        with open(tmp_path / "slots", "a") as started_in:
            started_in.write(f"{slot}\n")
        time.sleep(0.3)
        return 0

    gone: list[int] = []
    supervisor = Supervisor(2, child, child_gone=gone.append)
    timer = signal_after_starts(supervisor, 3, signal.SIGTERM)
    started = time.monotonic()
    assert supervisor.run() == 0
    timer.join()
    assert supervisor.started >= 3  # the two first, and at least one replacement
    assert supervisor.children == {} and time.monotonic() - started < 10
    # A replacement takes the slot of the child it replaces: never more slots than processes.
    slots = [int(line) for line in (tmp_path / "slots").read_text().split()]
    # (A child forked just before SIGTERM may die before it writes its slot down.)
    assert sorted(slots[:2]) == [0, 1] and set(slots) == {0, 1} and len(slots) in (supervisor.started - 1,
                                                                                     supervisor.started)
    assert set(gone) == {0, 1} and len(gone) == supervisor.started  # every exit reported with its slot


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
    timer = signal_after_starts(supervisor, 2, signal.SIGINT)
    assert supervisor.run() == 0
    timer.join()
    assert supervisor.started >= 2


def test_a_child_whose_server_exits_as_unable_to_start_stops_the_run() -> None:
    def child(slot: int) -> int:
        time.sleep(0.2)
        raise SystemExit(EXIT_CANNOT_START)  # what uvicorn does when its server cannot start

    supervisor = Supervisor(2, child)
    assert supervisor.run() == 1
    assert supervisor.started == 2 and supervisor.children == {}


def test_children_that_keep_dying_young_are_replaced_ever_more_slowly() -> None:
    def child(slot: int) -> int:
        return 1

    starts: list[float] = []

    class Timed(Supervisor):
        def _spawn(self, slot: int) -> None:
            starts.append(time.monotonic())
            super()._spawn(slot)

    def stop_after_the_third_start() -> None:
        # Timed from the third start, not from the first: forking this large test process on a
        # loaded machine can take long enough that a fixed timer fired before it.
        deadline = time.monotonic() + 30
        while len(starts) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.5)  # the fourth start would wait 4 s after the third child's death
        os.kill(os.getpid(), signal.SIGTERM)

    supervisor = Timed(1, child)
    watcher = threading.Thread(target=stop_after_the_third_start)
    watcher.start()
    assert supervisor.run() == 0
    watcher.join()
    # Started at 0, replaced after 1 s, then after 2 s more; the next would wait 4 s.
    assert supervisor.started == 3
    assert starts[1] - starts[0] >= 1.0 and starts[2] - starts[1] >= 2.0, starts


def test_sigterm_while_the_children_are_forked_stops_every_one_of_them() -> None:
    closed: list[bool] = []

    class SignalledEarly(Supervisor):
        def _spawn(self, slot: int) -> None:
            super()._spawn(slot)
            if slot == 0:
                os.kill(os.getpid(), signal.SIGTERM)

    def child(slot: int) -> int:
        time.sleep(30)
        return 0

    supervisor = SignalledEarly(3, child, stop_listening=lambda: closed.append(True))
    started = time.monotonic()
    assert supervisor.run() == 0
    # No child was forked after SIGTERM, and the one forked before it was stopped.
    assert supervisor.started == 1 and time.monotonic() - started < 5
    assert closed == [True]


ORPHANS = """
import ctypes, os, signal, subprocess, sys, threading, time
from imgproxy_py.cluster.supervisor import Supervisor

ctypes.CDLL("libc.so.6").prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans come to us, as to a PID 1

def child(slot):
    subprocess.Popen(["sleep", "0.2"], start_new_session=True)  # left behind, as a killed server leaves its RAW worker
    time.sleep(30)
    return 0

def zombies():
    found = 0
    for pid in os.listdir("/proc"):
        try:
            fields = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()
        except (OSError, ValueError):
            continue
        found += fields[0] == "Z" and int(fields[1]) == os.getpid()
    return found

def look_then_stop():
    time.sleep(0.5)
    for pid in list(supervisor.children):
        os.kill(pid, signal.SIGKILL)  # the server process dies; its worker's sleep ends
    time.sleep(1.0)
    print(zombies(), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

supervisor = Supervisor(1, child, reap_all=sys.argv[1] == "all")
threading.Thread(target=look_then_stop).start()
supervisor.run()
"""


@pytest.mark.parametrize("reap_all", [True, False])
def test_as_pid_1_orphans_are_reaped(reap_all: bool) -> None:
    result = subprocess.run([sys.executable, "-c", ORPHANS, "all" if reap_all else "ours"], capture_output=True,
                            text=True, timeout=30, cwd=Path(__file__).resolve().parents[1])
    zombies = int(result.stdout.split()[0])
    # Reaping only its own children would leave the orphan a zombie for ever.
    assert zombies == 0 if reap_all else zombies >= 1
