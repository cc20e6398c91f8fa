"""Several server processes on one port (``IMGPROXY_PROCESSES``): a pre-fork supervisor.

The parent binds the socket, forks the servers and does nothing else: each child builds its
own services (models, libvips, worker slots: one GIL per process) and accepts on the shared
socket, the kernel handing each connection to one of them. A child that dies is replaced; a
child that cannot start (a configuration problem) stops them all. SIGTERM or SIGINT to the
parent is passed to every child, whose server stops accepting and finishes the requests in
flight (``IMGPROXY_GRACEFUL_STOP_TIMEOUT``); the parent returns when the last has exited.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("imgproxy_py")

# A child's exit status meaning "this configuration can't start": restarting can't help.
EXIT_CANNOT_START = 3
# A child that dies sooner than this after its start is replaced only after this long, so a
# crash at start-up does not become a fork loop.
RESPAWN_BACKOFF = 1.0
POLL = 0.1  # seconds between looks at the children


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the supervisor dies, so no server outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Supervisor:
    """``serve_child(slot)`` runs in each child; ``slot`` (0 to processes - 1) is the child's
    place, which its replacement takes over; ``child_gone(slot)`` runs here when it exits."""

    def __init__(self, processes: int, serve_child: Callable[[int], int],
                 child_gone: Callable[[int], None] = lambda slot: None) -> None:
        self.processes = processes
        self.serve_child = serve_child
        self.child_gone = child_gone
        self.children: dict[int, tuple[float, int]] = {}  # pid -> (start time, slot)
        self.stopping = False
        self.started = 0  # processes forked, replacements included

    def _spawn(self, slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _die_with_parent()
            code = 1
            try:
                code = self.serve_child(slot)
            except BaseException:  # a child never returns into the supervisor's loop
                log.exception("server process failed")
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = (time.monotonic(), slot)
        self.started += 1

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("stopping %d server processes (signal %d)", len(self.children), signum)
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for slot in range(self.processes):
            self._spawn(slot)
        log.info("supervising %d server processes: %s", self.processes, sorted(self.children))
        result = 0
        while self.children:
            time.sleep(POLL)
            for pid, status in self._exited():
                started, slot = self.children.pop(pid)
                self.child_gone(slot)
                code = os.waitstatus_to_exitcode(status)
                if self.stopping:
                    continue
                if code == EXIT_CANNOT_START:
                    result = 1
                    self._stop(signal.SIGTERM, None)
                    continue
                log.warning("server process %d exited (%s); starting a replacement", pid,
                            f"signal {-code}" if code < 0 else f"status {code}")
                if time.monotonic() - started < RESPAWN_BACKOFF:
                    time.sleep(RESPAWN_BACKOFF)
                if not self.stopping:
                    self._spawn(slot)
        return result

    def _exited(self) -> list[tuple[int, int]]:
        """Our children that have exited, reaped (only ours: the process may have others)."""
        done = []
        for pid in list(self.children):
            try:
                reaped, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                reaped, status = pid, 0
            if reaped:
                done.append((pid, status))
        return done
